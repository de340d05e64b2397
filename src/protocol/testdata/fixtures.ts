// What the fixture files beside this one hold; shared by scripts/capture-client-batches.ts (which
// wrote them) and compression.test.ts (which checks them).

/** The messages every real client produced into kcat-*.bin and kafkajs-gzip.bin, in order. */
export const CLIENT_MESSAGES: readonly { readonly key: string; readonly value: string }[] = Array.from(
  { length: 20 },
  (_, i) => ({
    key: `sensor-${i % 4}`,
    value: JSON.stringify({
      sensor: `sensor-${i % 4}`,
      reading: i * 1.5,
      unit: 'celsius',
      site: 'north-yard',
    }),
  }),
)

/**
 * The plaintext the reference command-line tools (lz4, zstd, gzip from Debian) compressed into
 * cli-*.bin: about 150 KB, so LZ4's 64 KiB blocks link to earlier ones. The zstd and gzip files
 * hold it as two frames/members, split at CLI_SPLIT.
 */
export function cliPlaintext(): Buffer {
  const lines: string[] = []
  for (let i = 0; i < 4000; i++) lines.push(`${i}:${'eddy-'.repeat(i % 13)}${(i * 2654435761) % 1000}\n`)
  return Buffer.from(lines.join(''))
}
export const CLI_SPLIT = 70_000
