// An OpenID Provider for Ferry's redirect tests: panva's `oidc-provider` (OpenID Certified),
// loopback only, everything in memory. The tests start it through tests/support/oidc_provider.rs.
//
// env:
//   OIDC_PROVIDER_DIR  folder with node_modules/oidc-provider (the harness installs it there)
//   OIDC_PORT          port on 127.0.0.1; the issuer is http://127.0.0.1:$OIDC_PORT
//   OIDC_CLIENTS       JSON array of client metadata (redirect_uris, auth method, jwks…)
//   OIDC_ACCOUNTS      JSON object: login -> { sub, password, disabled?, claims }
//
// Sign-in without a browser: GET /interaction/:uid answers JSON, POST
// /interaction/:uid/login (form: login, password) checks the password, GET
// /interaction/:uid/abort refuses. Consent is implied (first-party clients).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.OIDC_PROVIDER_DIR;
const { default: Provider } = await import(
  pathToFileURL(join(dir, 'node_modules/oidc-provider/lib/index.js')).href
);

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);
const subjects = new Map(Object.values(accounts).map((a) => [a.sub, a]));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { ...privateKey.export({ format: 'jwk' }), kid: `k-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };
const claimNames = ['sub', 'email', 'email_verified', 'name', 'given_name', 'family_name', 'groups'];

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [key] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = subjects.get(sub);
    return account && { accountId: sub, async claims() { return { sub, ...account.claims }; } };
  },
  async loadExistingGrant(ctx) {
    const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope([...(ctx.oidc.requestParamScopes ?? ['openid'])].join(' '));
    grant.addOIDCClaims(claimNames);
    await grant.save();
    return grant;
  },
  renderError(ctx, out) { ctx.type = 'json'; ctx.body = out; },
});

async function form(req) {
  const parts = [];
  for await (const part of req) parts.push(part);
  return new URLSearchParams(Buffer.concat(parts).toString('utf8'));
}

function send(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function interaction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return send(res, 400, { error: 'no_interaction', detail: err.message });
  }
  if (details.uid !== uid) return send(res, 400, { error: 'wrong_interaction' });
  if (!action && req.method === 'GET') {
    return send(res, 200, { uid, prompt: details.prompt.name, params: details.params });
  }
  if (action === 'login' && req.method === 'POST') {
    const body = await form(req);
    const account = accounts[body.get('login') ?? ''];
    if (!account || account.password !== body.get('password')) return send(res, 401, { error: 'invalid_login' });
    if (account.disabled) return send(res, 403, { error: 'disabled' });
    const result = { login: { accountId: account.sub } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action === 'abort' && req.method === 'GET') {
    const result = { error: 'access_denied', error_description: 'the user cancelled' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  return send(res, 405, { error: 'method' });
}

const callback = provider.callback();
createServer(async (req, res) => {
  try {
    const path = new URL(req.url, issuer).pathname;
    const m = path.match(/^\/interaction\/([^/]+)(?:\/(login|abort))?$/);
    if (m) return await interaction(req, res, m[1], m[2]);
    callback(req, res);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) send(res, 500, { error: 'server_error' });
  }
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider ready at ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
