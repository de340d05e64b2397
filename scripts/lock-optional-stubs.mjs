// The npm registry mirror this project is built against serves only some platforms' builds of
// packages such as @biomejs/cli-* and @msgpackr-extract/*, so `npm install` leaves those optional
// dependencies out of package-lock.json, and `npm ci` then refuses the lock as out of sync.
// This adds the missing optional entries (version, os/cpu from the name), exactly as npm writes
// them on a machine that can see every platform; `npm ci` skips them here as foreign platforms.
// Run it after `npm install`: node scripts/lock-optional-stubs.mjs
import fs from 'node:fs'

const file = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(fs.readFileSync(file, 'utf8'))
const packages = lock.packages
const OS = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'sunos', 'aix']
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64']
let added = 0
for (const [where, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const at = `${where === '' ? '' : `${where}/`}node_modules/${name}`
    const top = `node_modules/${name}`
    if (packages[at] || packages[top]) continue
    const parts = name.split('/').pop().split('-')
    const stub = { version: version.replace(/^[\^~]/, ''), optional: true }
    if (entry.dev) stub.dev = true
    const os = parts.find((p) => OS.includes(p))
    const cpu = parts.find((p) => CPU.includes(p))
    if (os) stub.os = [os]
    if (cpu) stub.cpu = [cpu]
    if (parts.includes('musl')) stub.libc = ['musl']
    else if (os === 'linux') stub.libc = ['glibc']
    packages[top] = stub
    added++
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
)
lock.packages = sorted
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`lock-optional-stubs: added ${added} optional platform entries`)
