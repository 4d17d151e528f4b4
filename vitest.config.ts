import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Brings dist/ up to date (incremental tsc + asset copy) before any file runs: worker
    // threads, bin/brook.js and the `brook` package import load the build, not the source.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real nodes with worker threads and SQLite files; on two cores, running
    // files one at a time keeps timing-sensitive tests (sessions, long polls) honest.
    fileParallelism: false,
    pool: 'forks',
  },
});
