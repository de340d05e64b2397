// When did a run's last output become committed? The end of the first commit that began after
// every input record had been processed. The runner's commit is wrapped to see it (the idle
// wait before an app stops is left out).
import { AppRunner } from '../../src/runtime/app-runner.js'

/** Every commit since the last `reset()`: records read before it began, and when it ended. */
export const commitsSeen: { recordsIn: number; endMs: number }[] = []

export function probeCommits(): void {
  const proto = AppRunner.prototype as unknown as {
    commit?: (this: { recordsIn: number }) => Promise<void>
    __benchProbe?: boolean
  }
  const commit = proto.commit
  if (typeof commit !== 'function') throw new Error('AppRunner has no commit(): update the bench probe')
  if (proto.__benchProbe) return
  proto.__benchProbe = true
  proto.commit = async function (this: { recordsIn: number }) {
    const recordsIn = this.recordsIn
    await commit.call(this)
    commitsSeen.push({ recordsIn, endMs: performance.now() })
  }
}
