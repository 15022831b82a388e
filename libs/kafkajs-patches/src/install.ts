// The first import of every main (services, CLI, bench, chaos): kafkajs patched before it loads.
// Throws (the process exits non-zero, naming the cause) when a patch cannot be applied.
import { installKafkajsPatches } from './install-patches';

installKafkajsPatches();
