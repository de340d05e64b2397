import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assignTasks, type InstanceInfo, type TaskInfo } from './task-assignor.js'

const tasks = (subs: number, partitions: number, stateful = true): TaskInfo[] =>
  Array.from({ length: subs * partitions }, (_, i) => ({
    id: `${Math.floor(i / partitions)}_${i % partitions}`,
    subTopology: Math.floor(i / partitions),
    stateful,
  }))
const fresh = (...ids: string[]): InstanceInfo[] =>
  ids.map((memberId) => ({ memberId, previousActive: [], localState: [] }))

describe('task assignor', () => {
  it('spreads every stage evenly over the instances', () => {
    const a = assignTasks(tasks(2, 6), fresh('a', 'b', 'c'))
    for (const [, x] of a) {
      assert.equal(x.active.filter((t) => t.startsWith('0_')).length, 2)
      assert.equal(x.active.filter((t) => t.startsWith('1_')).length, 2)
    }
    const all = [...a.values()].flatMap((x) => x.active).sort()
    assert.deepEqual(
      all,
      tasks(2, 6)
        .map((t) => t.id)
        .sort(),
    )
  })

  it('uneven counts differ by at most one task per instance', () => {
    const a = assignTasks(tasks(3, 5), fresh('a', 'b'))
    const loads = [...a.values()].map((x) => x.active.length)
    assert.ok(Math.abs(loads[0]! - loads[1]!) <= 1, `loads ${loads}`)
  })

  it('keeps tasks where they ran while the balance holds, and moves only what it must', () => {
    const before = assignTasks(tasks(1, 6), fresh('a', 'b'))
    const joined: InstanceInfo[] = [
      { memberId: 'a', previousActive: before.get('a')!.active, localState: [] },
      { memberId: 'b', previousActive: before.get('b')!.active, localState: [] },
      { memberId: 'c', previousActive: [], localState: [] },
    ]
    const after = assignTasks(tasks(1, 6), joined)
    assert.equal(after.get('c')!.active.length, 2)
    for (const m of ['a', 'b']) {
      const kept = after.get(m)!.active.filter((t) => before.get(m)!.active.includes(t))
      assert.equal(kept.length, 2, `${m} keeps two of its three tasks`)
    }
  })

  it("gives a departed instance's tasks to the instances that have their state", () => {
    const instances: InstanceInfo[] = [
      { memberId: 'a', previousActive: ['0_0'], localState: ['0_2'] },
      { memberId: 'b', previousActive: ['0_3'], localState: [] },
    ]
    // 0_1 and 0_2 ran on a departed instance; a holds 0_2's standby.
    const after = assignTasks(tasks(1, 4), instances)
    assert.deepEqual(after.get('a')!.active.sort(), ['0_0', '0_2'])
    assert.deepEqual(after.get('b')!.active.sort(), ['0_1', '0_3'])
    assert.deepEqual([...after.values()].flatMap((x) => x.active).sort(), ['0_0', '0_1', '0_2', '0_3'])
  })

  it('places standby replicas on other instances, only for stateful tasks', () => {
    const a = assignTasks([...tasks(1, 4), ...tasks(2, 2, false).slice(2)], fresh('a', 'b', 'c'), 1)
    for (const [, x] of a) for (const s of x.standby) assert.ok(!x.active.includes(s))
    const standbys = [...a.values()].flatMap((x) => x.standby).sort()
    assert.deepEqual(standbys, ['0_0', '0_1', '0_2', '0_3'])
    // One instance: no standby can exist.
    assert.deepEqual(assignTasks(tasks(1, 2), fresh('a'), 2).get('a')!.standby, [])
  })

  it('is deterministic whatever the order of the members', () => {
    const x = assignTasks(tasks(2, 3), fresh('b', 'c', 'a'), 1)
    const y = assignTasks(tasks(2, 3), fresh('a', 'b', 'c'), 1)
    assert.deepEqual([...x].sort(), [...y].sort())
  })
})
