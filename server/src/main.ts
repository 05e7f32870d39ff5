// Entry point of dist/server.js (transport from argv: --stdio, --node-ipc, --socket=N).
import { startServer } from './server';

startServer();
