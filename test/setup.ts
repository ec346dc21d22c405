// Runs before every test file: select the backend once so tests see the same engine a
// user gets, quietly.
import { initBackend } from '../src/lib/backend';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await initBackend({ quiet: true });
  },
};
