import { Command } from 'commander';
import { CliError, type CliContext } from './context';

/** `keys rotate`: re-seal the stored secrets under a new master key. */
export function keysCommand(ctx: CliContext): Command {
  const keys = new Command('keys').description('master key of the secrets stored in the database');
  keys
    .command('rotate')
    .description(
      're-encrypt every stored secret under GATEWAY_MASTER_KEY; the old key goes in GATEWAY_MASTER_KEY_PREVIOUS (set both on every instance first, remove the old one after)',
    )
    .action(async () => {
      const config = ctx.config();
      const [{ openDatabase }, { runMigrations }, { rekeySecrets }, { HOW_TO_MAKE_A_KEY }] = await Promise.all([
        import('../db/client'),
        import('../db/migrate'),
        import('../control/rekey'),
        import('../control/crypto'),
      ]);
      const keyring = config.control.keyring;
      if (!keyring) throw new CliError(`No master key: ${HOW_TO_MAKE_A_KEY}`, 2);
      const database = await openDatabase(config.database);
      try {
        await runMigrations(database, config.database.url);
        const result = await rekeySecrets(database, keyring);
        ctx.out(
          `re-encrypted ${result.resealed} secret(s) under key ${keyring.current.id}; ${result.current} already were`,
        );
        const d = result.destinations;
        ctx.out(
          `re-encrypted ${d.resealed} destination(s); ${d.current} already were${d.unreadable.length ? `; ${d.unreadable.join(', ')} sealed with an unknown key, left as they are` : ''}`,
        );
        if (result.unreadable.length > 0) {
          throw new CliError(
            `${result.unreadable.length} secret(s) (ids ${result.unreadable.join(', ')}) are sealed with a key that is neither GATEWAY_MASTER_KEY nor GATEWAY_MASTER_KEY_PREVIOUS; they were left as they are`,
            1,
          );
        }
      } finally {
        await database.close();
      }
    });
  return keys;
}
