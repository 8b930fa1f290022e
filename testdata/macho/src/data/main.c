#include "../common/out.h"
#include "data.h"

int counter;

int main(void)
{
    out_kv("counter at start", counter);
    for (int i = 1; i <= 5; i++)
        bump(i);
    out_kv("counter after bumps", counter);
    out_kv("shared_total", shared_total);
    out_kv("sum_numbers", sum_numbers());
    numbers[3] = 1000;
    out_kv("sum_numbers after write", sum_numbers());
    for (int i = 0; i < 3; i++) {
        out_str(points[i].label);
        out_str(" ");
        out_int(points[i].x * points[i].y);
        out_nl();
    }
    current_point = &points[2];
    out_kv("current_point->x", current_point->x);
    for (int i = 0; words[i]; i++) {
        out_str(words[i]);
        out_str(i % 2 ? "\n" : " ");
    }
    out_kv("*number_refs[2]", *number_refs[2]);
    out_kv("number_refs[1] == &numbers[5]", number_refs[1] == &numbers[5]);
    out_kv("hidden_value", hidden_value);
    out_str(greeting);
    out_nl();
    out_kv("weak_answer", weak_answer());
    out_kv("strong_answer", strong_answer());
    out_kv("weak_data", weak_data);
    out_kv("zeroed_ok", zeroed_ok());
    big_common[12345] = 6;
    out_kv("big_common[12345]", big_common[12345]);
    out_kv("big_common aligned 64", ((unsigned long)big_common & 63) == 0);
    out_kv("missing_function is null", missing_function == 0);
    out_kv("missing_data is null", &missing_data == 0);
    return counter == 15 ? 0 : 1;
}
