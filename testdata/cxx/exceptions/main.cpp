#include "common.h"
#include <stdexcept>

namespace {
struct Square2 : Shape { // a Shape defined here, to dynamic_cast across objects
  long area() const override { return 4; }
  const char *name() const override { return "local"; }
};
} // namespace

int main() {
  std::printf("main starts\n");
  int caught = 0;
  try {
    std::printf("12/4 = %d\n", checked_div(12, 4));
    checked_div(7, 0);
    std::printf("not reached\n");
  } catch (const DivError &e) {
    std::printf("caught DivError(%d): %s\n", e.numerator, e.what());
    caught++;
  }
  try {
    vector_at(5);
  } catch (const std::out_of_range &) {
    std::printf("caught std::out_of_range\n");
    caught++;
  }
  try {
    throw_int(42);
  } catch (int v) {
    std::printf("caught int %d\n", v);
    caught++;
  }
  try {
    try {
      unwinding_destructors(3);
    } catch (const std::exception &e) {
      std::printf("inner caught '%s', %d guards alive; rethrowing\n", e.what(), live_guards);
      caught++;
      throw;
    }
  } catch (const std::runtime_error &e) {
    std::printf("outer caught '%s'\n", e.what());
    caught++;
  }
  std::vector<Shape *> shapes{make_shape(0, 3), make_shape(1, 4), new Square2};
  long total = 0;
  for (Shape *s : shapes) {
    std::printf("%s: %ld\n", s->name(), s->area());
    total += s->area();
  }
  int locals = 0;
  for (Shape *s : shapes) locals += dynamic_cast<Square2 *>(s) != nullptr;
  std::printf("total area %ld, %d local shape(s)\n", total, locals);
  for (Shape *s : shapes) delete s;
  std::vector<int> ints{1, 2, 3, 4};
  std::printf("sum_all %d, vector_at(1) %ld\n", sum_all(ints), vector_at(1));
  report_statics();
  std::printf("caught %d exceptions\n", caught);
  return caught;
}
