// The language server bundle (dist/server-main.js), loaded by dist/server.js (boot.ts).
import { startServer } from './server';

startServer();
