/* The native build's host_replace (build-fork.sh): nothing to replace. */
void host_replace(int version) { (void)version; }
