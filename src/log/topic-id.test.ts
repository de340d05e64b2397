import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { EventLog } from './event-log.js'

const roots: string[] = []
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eddy-topic-id-test-'))
  roots.push(dir)
  return dir
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('EventLog topic ids', () => {
  it('gives each topic a UUID at creation, kept across reopen, new when re-created', async () => {
    const dir = tmpDir()
    let log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    log.createTopic('a')
    log.createTopic('b')
    const a = log.topicId('a')
    assert.match(a, UUID)
    assert.notEqual(a, log.topicId('b'))
    assert.equal('topicId' in log.describeTopic('a').config, false, 'the id is not part of the config')
    await log.close()

    log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    assert.equal(log.topicId('a'), a)
    log.deleteTopic('a')
    log.createTopic('a')
    assert.notEqual(log.topicId('a'), a)
    await log.close()
  })

  it('gives a topic written before topic ids one on open, and keeps it', async () => {
    const dir = tmpDir()
    let log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    log.createTopic('old')
    await log.close()
    const file = path.join(dir, 'topics', 'old', 'topic.json')
    const { topicId: _, ...config } = JSON.parse(fs.readFileSync(file, 'utf8'))
    fs.writeFileSync(file, JSON.stringify(config))

    log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    const id = log.topicId('old')
    assert.match(id, UUID)
    await log.close()
    log = EventLog.open({ dir, fsync: { kind: 'never' }, maintenanceIntervalMs: 0 })
    assert.equal(log.topicId('old'), id)
    await log.close()
  })
})
