// `node --import tsx --import ./test/support/record-modules.mjs src/main.ts`: appends the URL of every
// module the ESM loader resolves to the file named by RECORD_MODULES_TO, one a line (start-up tests).
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const out = process.env.RECORD_MODULES_TO;
if (out) {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url) => appendFileSync(out, `${url}\n`));
  port1.unref();
  register('./record-modules-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
}
