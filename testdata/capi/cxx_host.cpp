// relink.h from C++17 (built with -std=c++17 -Wall -Wextra -Werror -pedantic by
// tests/capi.rs): a linker owned by a unique_ptr, a loaded function called.
#include <cstdint>
#include <cstdio>
#include <memory>

#include "relink.h"

int main() {
  std::unique_ptr<relink_linker, decltype(&relink_free)> linker(relink_new(), relink_free);
  relink_object_id id = 0;
  if (relink_load_file(linker.get(), "counter_v1.o", &id) != RELINK_OK) {
    std::printf("error: %s\n", relink_last_error(linker.get()));
    return 1;
  }
  auto step = reinterpret_cast<int (*)(int)>(relink_function(linker.get(), "step"));
  std::printf("C++: object %llu, step(5) = %d\n", static_cast<unsigned long long>(id), step(5));
  relink_options options;
  relink_options_init(&options);
  std::printf("C++: relink_options is %zu bytes\n", options.size);
  return 0;
}
