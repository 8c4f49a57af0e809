import { Command, CommanderError } from 'commander';
import { registerAccessCommands } from './commands/access.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerBatchCommands } from './commands/batch.js';
import { registerCaCommands } from './commands/ca.js';
import { registerCardCommands } from './commands/card.js';
import { registerCertCommands } from './commands/cert.js';
import { registerCrlCommands } from './commands/crl.js';
import { registerExchangeCommands } from './commands/exchange.js';
import { registerServeCommands } from './commands/serve.js';
import { reportAndExit } from './runner.js';

// What the service writes (the embedded database, keys, secrets, CRLs) is its own user's alone.
process.umask(0o077);
// `eimza cert list | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command()
  .name('eimza')
  .description('e-imza certificate authority: CA hierarchy, issuance, status, audit')
  .option('--data-dir <dir>', 'data directory (default ./data, or EIMZA_DATA_DIR)')
  .showHelpAfterError()
  .exitOverride();

registerCaCommands(program);
registerCertCommands(program);
registerCardCommands(program);
registerCrlCommands(program);
registerAccessCommands(program);
registerExchangeCommands(program);
registerBatchCommands(program);
registerAuditCommands(program);
registerServeCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  reportAndExit(e);
}
