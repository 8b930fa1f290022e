/* ctors: __attribute__((constructor)) / destructor functions with and without
 * priorities, spread over several objects. The expected order is the one the
 * system linker gives: prioritised constructors in increasing priority across
 * all objects, then default-priority ones in command-line (name) order;
 * destructors in the reverse order, after main returns. Constructors set
 * globals that other constructors and main read. */
#ifndef CTORS_H
#define CTORS_H

/* early.c */
extern int base_value;
extern int ctor_sequence[8];
extern int ctor_count;
void record_ctor(int id);

/* late.c */
extern int derived_value;
extern const char *late_status;

#endif
