// Start the Bluesky reference servers of @atproto/dev-env on loopback for Porte-voix tests.
//
//   node start.mjs                 PLC + PDS + App View (needs DB_POSTGRES_URL and REDIS_HOST)
//   node start.mjs --no-appview    PLC + PDS only (no PostgreSQL, no Redis; app.bsky.* answers 502)
//
// Environment:
//   DB_POSTGRES_URL, REDIS_HOST    for the App View (REDIS_HOST is "host:port")
//   DB_POSTGRES_SCHEMA             schema prefix, [A-Za-z_] only (default from the pid)
//   DEVENV_RATE_LIMITS=0           turn the PDS rate limits off (default on: real RateLimit-* headers)
//   DEVENV_BIND=127.0.0.1          address every server listens on (default 127.0.0.1)
//   DEVENV_PROCESS_MS=250          how often the App View indexes what the PDS wrote
//
// When everything listens, prints ONE line of JSON on stdout starting with {"ready":true,...}
// holding the URLs and the accounts (handle, did, password, app_password). Logs go to stderr.
// SIGTERM or SIGINT stops every server and exits 0; so does stdin closing with
// --stop-on-stdin-close (the test fixture uses it, so a killed pytest leaves nothing behind).
import net from 'node:net'

const bind = process.env.DEVENV_BIND || '127.0.0.1'

// The servers call listen(port) without a host, which binds every interface. Pin them to
// loopback before any of them is created.
const originalListen = net.Server.prototype.listen
net.Server.prototype.listen = function patchedListen(...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (args.length === 1 || typeof args[1] === 'function') {
      args.splice(1, 0, bind)
    }
  } else if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host: bind }
  }
  return originalListen.apply(this, args)
}

const log = (...parts) => process.stderr.write(`[atproto-devenv] ${parts.join(' ')}\n`)

const withAppView = !process.argv.includes('--no-appview')
const rateLimits = process.env.DEVENV_RATE_LIMITS !== '0'
const processEveryMs = Number(process.env.DEVENV_PROCESS_MS || 250)

const { TestNetwork, TestNetworkNoAppView } = await import('@atproto/dev-env')
const { AtpAgent } = await import('@atproto/api')

// Schemas may only hold [A-Za-z_]: spell the pid in letters so parallel runs never clash.
const defaultSchema = () =>
  `pv_${String(process.pid).replace(/\d/g, (d) => 'abcdefghij'[Number(d)])}`

const started = Date.now()
let network
try {
  const pds = { hostname: 'localhost', rateLimitsEnabled: rateLimits, inviteRequired: false }
  if (withAppView) {
    if (!process.env.DB_POSTGRES_URL || !process.env.REDIS_HOST) {
      throw new Error('the App View needs DB_POSTGRES_URL and REDIS_HOST (or pass --no-appview)')
    }
    network = await TestNetwork.create({
      dbPostgresUrl: process.env.DB_POSTGRES_URL,
      dbPostgresSchema: process.env.DB_POSTGRES_SCHEMA || defaultSchema(),
      pds,
    })
  } else {
    network = await TestNetworkNoAppView.create({ pds })
  }
} catch (error) {
  log('failed to start:', error?.stack || String(error))
  process.exit(2)
}

const accountNames = ['brand', 'customer', 'fan']
const accounts = {}
const seed = network.getSeedClient()
for (const name of accountNames) {
  const handle = `${name}.test`
  const password = `${name}-password-${Math.random().toString(36).slice(2, 10)}`
  await seed.createAccount(name, { handle, email: `${name}@porte-voix.test`, password })
  const agent = new AtpAgent({ service: network.pds.url })
  await agent.login({ identifier: handle, password })
  const appPassword = await agent.com.atproto.server.createAppPassword({ name: 'porte-voix' })
  accounts[name] = {
    handle,
    did: seed.dids[name],
    password,
    app_password: appPassword.data.password,
  }
}
await network.processAll()

let stopping = false
let processing = false
const timer = setInterval(async () => {
  if (processing || stopping) return
  processing = true
  try {
    await network.processAll()
  } catch (error) {
    log('processAll failed:', error?.message || String(error))
  } finally {
    processing = false
  }
}, processEveryMs)

async function stop(signal) {
  if (stopping) return
  stopping = true
  clearInterval(timer)
  log(`stopping (${signal})`)
  const force = setTimeout(() => process.exit(0), 10_000)
  force.unref()
  try {
    await network.close()
  } catch (error) {
    log('close failed:', error?.message || String(error))
  }
  process.exit(0)
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
if (process.argv.includes('--stop-on-stdin-close')) {
  // The parent (pytest) holds our stdin: if it dies without signalling, we stop too.
  process.stdin.on('end', () => stop('stdin closed'))
  process.stdin.on('error', () => stop('stdin error'))
  process.stdin.resume()
}

process.stdout.write(
  `${JSON.stringify({
    ready: true,
    appview: withAppView,
    rate_limits: rateLimits,
    pds_url: network.pds.url,
    plc_url: network.plc.url,
    appview_url: withAppView ? network.bsky.url : null,
    accounts,
    started_in_ms: Date.now() - started,
    pid: process.pid,
  })}\n`,
)
log(`ready in ${Date.now() - started} ms: pds ${network.pds.url}`)
