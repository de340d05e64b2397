// Two small scheduling pieces the Kafka fetcher and producer share.

/** One timer for the earliest of the times asked for (retry backoffs, long-poll deadlines). */
export class WakeTimer {
  private timer: NodeJS.Timeout | null = null
  private at = Number.POSITIVE_INFINITY

  constructor(private readonly onWake: () => void) {}

  /** Calls `onWake` at `at` (performance.now() time), unless an earlier wake is already set. */
  wakeAt(at: number): void {
    if (at >= this.at) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.at = at
    this.timer = setTimeout(
      () => {
        this.timer = null
        this.at = Number.POSITIVE_INFINITY
        this.onWake()
      },
      Math.max(0, Math.ceil(at - performance.now())),
    )
  }

  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.at = Number.POSITIVE_INFINITY
  }
}

/**
 * Runs `pass` one at a time: a call while a pass runs asks for one more pass after it, so work
 * that arrived meanwhile is picked up without passes overlapping.
 */
export class SerialPasses {
  private running = false
  private again = false

  constructor(
    private readonly pass: () => Promise<void>,
    /** Stops asking for more passes (closed). */
    private readonly stopped: () => boolean = () => false,
  ) {}

  async run(): Promise<void> {
    if (this.running) {
      this.again = true
      return
    }
    this.running = true
    try {
      do {
        this.again = false
        await this.pass()
      } while (this.again && !this.stopped())
    } finally {
      this.running = false
    }
  }
}
