// /config.json drives the storefront: where the API is and which Cognito user pool to use.
// Locally `cloudshelf dev` serves it; in AWS the deploy writes it from the stack outputs.

export const config = {
  apiUrl: '',
  region: '',
  userPoolId: '',
  userPoolClientId: '',
  cognitoEndpoint: '',
};

const REQUIRED = ['apiUrl', 'region', 'userPoolId', 'userPoolClientId', 'cognitoEndpoint'];

export async function loadConfig() {
  const response = await fetch('config.json', { cache: 'no-store', headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const data = await response.json();
  const missing = REQUIRED.filter((key) => typeof data[key] !== 'string' || !data[key]);
  if (missing.length) throw new Error(`config.json lacks ${missing.join(', ')}`);
  Object.assign(config, data, { apiUrl: data.apiUrl.replace(/\/+$/, '') });
  return config;
}

/** True when the store runs on this machine (`cloudshelf dev`): enables local hints. */
export function isLocal() {
  try {
    const host = new URL(config.apiUrl, location.href).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return false;
  }
}
