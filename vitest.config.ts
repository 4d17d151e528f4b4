import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real nodes with worker threads and SQLite files; on two cores, running
    // files one at a time keeps timing-sensitive tests (sessions, long polls) honest.
    fileParallelism: false,
    pool: 'forks',
  },
});
