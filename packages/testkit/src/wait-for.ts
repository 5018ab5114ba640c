// waitFor lives in @holdfast/fleet (the Redis Cluster starter uses it, and the demo and the
// benchmark start clusters at run time); tests import it from here as before.
export { waitFor } from '@holdfast/fleet';
