// `node --import ./test/emulator/register.mjs test/emulator/cli.ts`: lets node run the TypeScript sources.
import 'tsx';
