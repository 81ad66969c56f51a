/** `roomring keygen`: a new cluster key and an API key/secret pair for a deployment. */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('print a new cluster key and an API key/secret pair for a deployment')
    .option('--json', 'machine-readable output')
    .action((options: { json?: boolean }) => {
      const keys = {
        clusterKey: randomBytes(32).toString('hex'),
        apiKey: `API${randomBytes(6).toString('base64url')}`,
        apiSecret: randomBytes(32).toString('base64url'),
      };
      if (options.json) {
        console.log(JSON.stringify(keys));
        return;
      }
      console.log(`cluster key (--cluster-key, every node): ${keys.clusterKey}`);
      console.log(`API key pair (--keys):                  ${keys.apiKey}:${keys.apiSecret}`);
    });
}
