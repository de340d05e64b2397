// `eddy …` in a child process, straight from the sources (bin/eddy needs a build of dist/).
import { main } from '../../src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
