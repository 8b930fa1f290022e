// -fno-pic C++: std::cin, std::cout, std::cerr reached by absolute 32-bit
// addresses, exceptions (the personality pointer in .eh_frame, typeinfo in the
// exception tables), and std::ios::sync_with_stdio(false) (tests/copies.rs).
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

static int parse(const std::string &word) {
  std::istringstream in(word);
  int n;
  if (!(in >> n))
    throw std::invalid_argument("not a number: " + word);
  if (n < 0)
    throw n;
  return n;
}

int main(int argc, char **argv) {
  std::cout << "tied: " << (std::cin.tie() == &std::cout) << " " << (std::cerr.tie() == &std::cout) << "\n";
  std::ios::sync_with_stdio(false);
  std::vector<std::string> words;
  std::string word;
  while (std::cin >> word)
    words.push_back(word);
  long sum = 0;
  for (const auto &w : words) {
    try {
      sum += parse(w);
    } catch (const std::invalid_argument &e) {
      std::cerr << "skipped (" << e.what() << ")\n";
    } catch (int n) {
      std::cout << "negative " << n << "\n";
    }
  }
  std::cout << words.size() << " words, sum " << sum << ", " << argc << " args" << std::endl;
  std::cout.setf(std::ios::hex, std::ios::basefield);
  std::cout << "hex " << sum << std::endl;
  return sum % 7;
}
