// flags: -fno-pic -fno-pie
// Defines a constant the C library also defines (`timezone`), so unloading it
// would rebind its -fno-pic reader to the process's copy, far from the region.
const long timezone = 5;
