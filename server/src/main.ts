// Entry point of dist/server.js (transport from argv: --stdio, --node-ipc, --socket=N).
import './early'; // first: starts reading /proc/kallsyms while the rest loads
import { startServer } from './server';

startServer();
