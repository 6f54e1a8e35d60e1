/**
 * `npm run package:teams [-- --app-id <id>] [--out <file>]`: the zip to upload in Teams (Apps ->
 * Manage your apps -> Upload an app): manifests/teams/manifest.json with the bot's app id filled in,
 * and the two icons. The app id comes from --app-id or MICROSOFT_APP_ID. Writes a plain (stored) zip.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const source = join(root, 'manifests', 'teams');

export function teamsPackage(appId: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(appId)) {
    throw new Error(`The app id must be the bot's Microsoft App ID (a GUID such as 00000000-0000-0000-0000-000000000000), not "${appId}".`);
  }
  const manifest = readFileSync(join(source, 'manifest.json'), 'utf8').replaceAll('{{MICROSOFT_APP_ID}}', appId);
  JSON.parse(manifest);
  return zip([
    { name: 'manifest.json', data: Buffer.from(manifest) },
    { name: 'color.png', data: readFileSync(join(source, 'color.png')) },
    { name: 'outline.png', data: readFileSync(join(source, 'outline.png')) },
  ]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (data: Buffer) => {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
};

/** A zip with stored (uncompressed) entries: what Teams needs, no dependency. */
function zip(files: Array<{ name: string; data: Buffer }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6); local.writeUInt16LE(0, 8);
    local.writeUInt32LE(0, 10); local.writeUInt32LE(crc, 14); local.writeUInt32LE(file.data.length, 18); local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0, 8); central.writeUInt16LE(0, 10);
    central.writeUInt32LE(0, 12); central.writeUInt32LE(crc, 16); central.writeUInt32LE(file.data.length, 20); central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, name, file.data);
    centrals.push(central, name);
    offset += local.length + name.length + file.data.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(files.length, 8); end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'app-id': { type: 'string' }, out: { type: 'string' } } });
  const appId = values['app-id'] ?? process.env.MICROSOFT_APP_ID ?? '';
  const out = resolve(values.out ?? join(root, 'dist', 'dbaccess-teams.zip'));
  try {
    const data = teamsPackage(appId);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, data);
    process.stdout.write(`Wrote ${out} (${data.length} bytes). Upload it in Teams: Apps -> Manage your apps -> Upload an app.\n`);
  } catch (error) {
    process.stderr.write(`dbaccess: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
