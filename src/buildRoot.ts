/**
 * The directory that holds the compiled stages: `dist/` once built, `src/` under the test
 * runner. The CLI bundle (`dist/stalecheck.mjs`) sits in that same directory, so paths built
 * from here are the same whether the code runs bundled or as separate modules.
 */
export const BUILD_ROOT = new URL("./", import.meta.url);

/** The package's own package.json (next to `dist/` and `src/`). */
export const PACKAGE_JSON = new URL("../package.json", BUILD_ROOT);
