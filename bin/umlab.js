#!/usr/bin/env node
// `npx umlab`: runs the TypeScript CLI through tsx, so there is no separate build step.
import { register } from "tsx/esm/api";

register();
await import("../cli/umlab.ts");
