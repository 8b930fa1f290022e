/* -fno-pic C reading stdin and writing stdout and stderr: its 32-bit references
 * to stdin/stdout/stderr reach copies of them (tests/copies.rs). The program
 * also reassigns stdout (printf must follow), keeps pointers to the streams in
 * data, mixes absolute references to its own .rodata with the reads, and
 * exits through a pointer to `exit` taken with an absolute reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

static FILE **streams[] = {&stdin, &stdout, &stderr};
static const char *names[] = {"stdin", "stdout", "stderr"};

int main(int argc, char **argv) {
  char line[256];
  int lines = 0;
  setvbuf(stderr, NULL, _IONBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    for (char *p = line; *p; p++)
      *p = toupper((unsigned char)*p);
    fputs(line, stdout);
    fprintf(stderr, "line %d\n", ++lines);
  }
  for (int i = 0; i < 3; i++)
    printf("%s is %s\n", names[i], *streams[i] == (i == 0 ? stdin : i == 1 ? stdout : stderr) ? "the same" : "different");
  /* printf follows a reassigned stdout. */
  FILE *saved = stdout;
  stdout = tmpfile();
  printf("into the temporary file: %d args\n", argc);
  fflush(stdout);
  rewind(stdout);
  char back[256] = "";
  if (!fgets(back, sizeof back, stdout))
    strcpy(back, "nothing\n");
  fclose(stdout);
  stdout = saved;
  printf("read back: %s", back);
  fprintf(*streams[2], "done after %d lines\n", lines);
  /* A process function's address through a 32-bit absolute field: its stub,
   * the same wherever the code takes it, and callable. */
  void (*volatile quit)(int) = exit;
  printf("exit's address is %s\n", quit == exit ? "one" : "two");
  fflush(stdout);
  quit(lines);
  return 0;
}
