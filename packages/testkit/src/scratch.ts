/**
 * Names a test makes up for itself on the run's shared servers (used by the `test.extend`
 * fixtures and by `isolatedEnv`): a random Redis namespace and a random database name. The
 * database is created and dropped with @holdfast/shared/mysql's createDatabase/dropDatabase.
 */
import { randomId } from './ids.js';

/** A fresh HOLDFAST_NAMESPACE: every key a test's services make starts with it. */
export const testNamespace = (id = randomId()) => `t${id}:`;

/** A fresh database name. */
export const testDatabaseName = (id = randomId()) => `hf_test_${id}`;
