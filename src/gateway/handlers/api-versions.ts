import { handler } from '../context.js';
import { supportedApiVersions } from './index.js';

/** ApiVersions 0-4: every api Brook serves with the versions it accepts. */
export const apiVersions = handler(18, 0, 4, () => ({
  errorCode: 0,
  apiKeys: supportedApiVersions(),
  throttleTimeMs: 0,
}));
