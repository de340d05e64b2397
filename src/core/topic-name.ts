import { EddyError } from './errors.js'
import { limits } from './limits.js'

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/

/** Checks a topic name by Kafka's rules; the name then can never escape a data directory. */
export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new EddyError(
      'INVALID_TOPIC_NAME',
      'Topic name is empty: give a name of [a-zA-Z0-9._-] characters.',
    )
  }
  if (name.length > limits.topicNameLengthMax) {
    throw new EddyError(
      'INVALID_TOPIC_NAME',
      `Topic name "${name.slice(0, 40)}…" is ${name.length} characters long: the limit is ${limits.topicNameLengthMax}.`,
    )
  }
  if (name === '.' || name === '..') {
    throw new EddyError('INVALID_TOPIC_NAME', `Topic name "${name}" is not allowed: choose another name.`)
  }
  if (!TOPIC_NAME.test(name)) {
    throw new EddyError(
      'INVALID_TOPIC_NAME',
      `Topic name ${JSON.stringify(name)} is invalid: use only letters, digits, '.', '_' and '-'.`,
    )
  }
}
