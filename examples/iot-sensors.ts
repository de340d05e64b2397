// IoT: the 5-minute average temperature per sensor, every minute (hopping windows), and an
// alert when a sensor's average passes a threshold. It writes its own input and then runs:
//   eddy run examples/iot-sensors.ts --until-idle 1000
import { app, avg, EventLog, hopping, json, max } from '../src/index.js'

interface Reading {
  readonly sensor: string
  readonly celsius: number
}

const dataDir = process.env.EDDY_DATA_DIR ?? '.eddy'
const THRESHOLD_CELSIUS = 30

async function seedReadings(readings: number): Promise<void> {
  const log = EventLog.open({ dir: dataDir })
  try {
    if (log.hasTopic('sensor-readings')) return
    log.createTopic('sensor-readings', { partitions: 2 })
    const producer = await log.producer()
    let seed = 3
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const start = Date.UTC(2026, 10, 21, 6)
    const byPartition: { key: Buffer; value: Buffer; timestamp: number }[][] = [[], []]
    for (let i = 0; i < readings; i++) {
      const sensor = `sensor-${i % 20}`
      const t = start + Math.floor(i / 20) * 10_000
      // sensor-7 overheats for a while in the second hour.
      const hot = sensor === 'sensor-7' && t > start + 3_600_000 && t < start + 4_800_000
      const reading: Reading = {
        sensor,
        celsius: Math.round(((hot ? 34 : 21) + (random() - 0.5) * 6) * 10) / 10,
      }
      byPartition[i % 2]!.push({
        key: Buffer.from(sensor),
        value: Buffer.from(JSON.stringify(reading)),
        timestamp: t,
      })
    }
    for (const [p, records] of byPartition.entries()) {
      for (let i = 0; i < records.length; i += 1000)
        await producer.send('sensor-readings', p, records.slice(i, i + 1000))
    }
    await producer.close()
  } finally {
    await log.close()
  }
}

await seedReadings(Number(process.env.IOT_READINGS ?? 20_000))

const iot = app({ id: 'iot-sensors', dataDir })
const averages = iot
  .stream<Reading>('sensor-readings', json())
  .groupByKey()
  .window(hopping({ size: '5m', every: '1m' }))
  .aggregate(
    { mean: avg((r: Reading) => r.celsius), peak: max((r: Reading) => r.celsius) },
    { name: 'five-minute-average' },
  )
  .final()
  .mapValues((w) => ({
    sensor: w.key,
    from: new Date(w.start).toISOString(),
    mean: w.value.mean,
    peak: w.value.peak,
  }))

averages.to('sensor-averages')
averages.filter((a) => (a.mean ?? 0) > THRESHOLD_CELSIUS).to('sensor-alerts')

await iot.run()
