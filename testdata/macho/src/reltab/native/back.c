/* Native stand-in for ir/reltab.back.ll, which ELF cannot express. */
long back_data = 55;

static long back_fn(void)
{
    return 66;
}

long (*back_fn_addr(void))(void)
{
    return back_fn;
}

long back[2];

__attribute__((constructor)) static void fill_back(void)
{
    back[0] = (char *)&back[0] - (char *)&back_data;
    back[1] = (char *)&back[1] - (char *)back_fn;
}
