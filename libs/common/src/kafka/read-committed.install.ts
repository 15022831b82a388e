// Side effect only: imported first by libs/common's index, before anything loads kafkajs.
import { installReadCommittedFix } from './read-committed';

installReadCommittedFix();
