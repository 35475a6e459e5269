// Lint rules, including the import directions from ARCHITECTURE.md.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/** Globals a pure core must not touch: it has to run unchanged in the page, a worker and Node. */
const runtimeGlobals = ["window", "document", "self", "postMessage", "importScripts", "navigator", "localStorage", "indexedDB", "process", "Buffer", "__dirname", "require"];

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "images/out/", "images/.work/", "test-results/", "playwright-report/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.es2022 } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    languageOptions: { globals: globals.browser },
    rules: {
      // The page talks to the worker through comlink only: its code is never bundled into the page.
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/workers/**", "!**/workers/api.ts"], message: "src/ may import only the worker API types (workers/api.ts).", allowTypeImports: true },
            { group: ["**/workers/api.ts"], message: "Use `import type` for the worker API.", allowTypeImports: true },
            { group: ["**/sw/**", "!**/sw/protocol.ts"], message: "src/ may import only the preview's message types (sw/protocol.ts).", allowTypeImports: true },
            { group: ["**/sw/protocol.ts"], message: "Use `import type` for the preview's messages.", allowTypeImports: true },
            { group: ["node:*", "**/cli/**", "**/images/**"], message: "src/ runs in the browser." },
          ],
        },
      ],
    },
  },
  {
    // The preview Service Worker is served as one transformed file: it may import types, never values.
    files: ["sw/**/*.ts"],
    ignores: ["**/*.test.ts"],
    languageOptions: { globals: globals.serviceworker },
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/workers/**", "!**/workers/api.ts"], message: "sw/ may import only the worker API types (workers/api.ts)." },
            { group: ["*", "!./protocol.ts", "!../workers/api.ts"], message: "sw/ may import types only from workers/api.ts and sw/protocol.ts." },
            { group: ["./protocol.ts", "../workers/api.ts"], message: "sw/ is one file at run time: use `import type`.", allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    files: ["workers/**/*.ts"],
    languageOptions: { globals: globals.worker },
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/src/**", "**/cli/**", "**/images/**", "**/e2e/**"], message: "Workers never import the page, the CLI or build code." }] }],
    },
  },
  {
    // Pure cores: no DOM, no worker globals, no Node built-ins.
    files: ["workers/core/**/*.ts", "workers/disk/**/*.ts", "workers/net/**/*.ts"],
    ignores: ["**/*.test.ts"],
    languageOptions: { globals: { ...globals.es2022, crypto: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", setTimeout: "readonly", clearTimeout: "readonly", queueMicrotask: "readonly", URL: "readonly" } },
    rules: {
      "no-restricted-globals": ["error", ...runtimeGlobals],
      "no-restricted-imports": ["error", { patterns: [{ group: ["node:*", "**/src/**", "**/cli/**", "**/images/**"], message: "Pure cores import nothing runtime-specific." }] }],
    },
  },
  {
    files: ["cli/**/*.ts", "images/**/*.ts", "scripts/**/*.ts", "e2e/**/*.ts", "bench/**/*.ts", "sw/**/*.test.ts", "*.ts", "*.js", "bin/**/*.js"],
    languageOptions: { globals: globals.node },
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/src/**"], message: "Node code never imports the page." }] }],
    },
  },
);
