#!/usr/bin/env node
// The `eimza` command. TypeScript runs through tsx's loader, so `npx eimza` works right after
// `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
