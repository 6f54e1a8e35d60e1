import { sharedTargets } from './targets.js';
const targets = await sharedTargets();
try {
  for (const target of Object.values(targets)) {
    console.log(target.kind, target.server, target.adminUrl, await target.roles('zz'));
    console.log(target.kind, 'freeze:', await target.freeze(), target.frozen());
    console.log(target.kind, 'thaw:', await target.thaw(), target.frozen());
  }
} finally {
  await Promise.all(Object.values(targets).map((t) => t.stop()));
  console.log('stopped');
}
