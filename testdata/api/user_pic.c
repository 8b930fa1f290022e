/* user.c built -fPIC: every extern variable is read through the GOT
   (x86-64 `movq v@GOTPCREL(%rip)`, which relink relaxes to `leaq` for another
   object's strong variable, and turns back into a GOT load if it moves). */
#include "user.c"
