#!/usr/bin/env node
// The Docker image's command: `npm start` (bin/start.js), after giving the console a token when the
// container asks for one with CONSOLE_TOKEN_FILE (docker-compose.try.yml does). In a container the
// browser's requests never come from loopback, and beyond loopback the console answers only to whoever
// presents CONSOLE_TOKEN. A CONSOLE_TOKEN given is used as it is; otherwise the token kept in
// CONSOLE_TOKEN_FILE (in the data volume, so a restart keeps it), or a new one generated into that
// file and shown this once, with the address to open. Later starts say where it is, not what it is.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const { CONSOLE_TOKEN: given, CONSOLE_TOKEN_FILE: file, PORT = '3000' } = process.env;

if (!given && file) {
  const created = readToken(file) ? undefined : createToken(file);
  process.env.CONSOLE_TOKEN = created ?? readToken(file);
  if (created) {
    say(`a token for the console was generated and kept in ${file}; it is shown here this once:`);
    say(`open http://127.0.0.1:${PORT}/console?token=${created}\n`);
  } else {
    say(`the console's token is the one kept in ${file} (shown at the first start; \`cat ${file}\` in the container shows it again).`);
  }
}
await import('./start.js');

/** The token in the file; undefined when there is no file yet. */
function readToken(path) {
  let text;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
  // The app's own rule for CONSOLE_TOKEN (src/config/env.ts).
  if (text.length < 24) fail(`${path} holds no console token (24 characters or more): delete it and start again to have a new one generated.`);
  return text;
}

/** A new token in a new file (mode 0600); undefined when another start wrote one first. */
function createToken(path) {
  const token = randomBytes(32).toString('base64url');
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (error.code === 'EEXIST') return undefined;
    throw error;
  }
  return token;
}

function say(line) {
  process.stdout.write(`dbaccess: ${line}\n`);
}

function fail(line) {
  process.stderr.write(`dbaccess: ${line}\n`);
  process.exit(1);
}
