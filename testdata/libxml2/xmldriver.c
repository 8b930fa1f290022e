/* libxml2 (with ICU for encodings) parses a document declared in a non-UTF-8
 * encoding, so ICU's converters run (and ICU's std::call_once, which reads
 * libstdc++'s thread-locals), then prints its tree and serialises it as UTF-8.
 * tests/libxml2.rs runs it through relink with libxml2.a, libicuuc.a,
 * libicudata.a, liblzma.a and libz.a, and compares with the same program
 * linked natively against the same archives. */
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>

static void print_tree(xmlNode *node, int depth) {
    for (; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE) {
            printf("%*s<%s>", 2 * depth, "", node->name);
            for (xmlAttr *a = node->properties; a; a = a->next) {
                xmlChar *v = xmlNodeGetContent((xmlNode *)a);
                printf(" %s=\"%s\"", a->name, v);
                xmlFree(v);
            }
            printf("\n");
            print_tree(node->children, depth + 1);
        } else if (node->type == XML_TEXT_NODE && !xmlIsBlankNode(node)) {
            printf("%*stext \"%s\" (%d bytes)\n", 2 * depth, "", node->content,
                   (int)strlen((const char *)node->content));
        }
    }
}

static int parse(const char *encoding, const char *doc, int len) {
    xmlDoc *d = xmlReadMemory(doc, len, "in.xml", NULL, XML_PARSE_NONET);
    if (!d) {
        printf("%s: parse failed\n", encoding);
        return 1;
    }
    printf("%s: declared %s\n", encoding, d->encoding ? (const char *)d->encoding : "-");
    print_tree(xmlDocGetRootElement(d), 1);
    xmlChar *out;
    int size;
    xmlDocDumpFormatMemoryEnc(d, &out, &size, "UTF-8", 0);
    printf("%s: as UTF-8, %d bytes\n%s", encoding, size, out);
    xmlFree(out);
    xmlFreeDoc(d);
    return 0;
}

int main(void) {
    /* Latin-1: caf\xe9, na\xefve, \xa9 */
    static const char latin1[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
        "<menu lang=\"fr\"><item price=\"3\">caf\xe9</item><item>na\xefve \xa9</item></menu>\n";
    /* Shift_JIS: \x93\xfa\x96\x7b (nihon), handled by ICU. */
    static const char sjis[] =
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n"
        "<p>\x93\xfa\x96\x7b</p>\n";
    /* KOI8-R: \xd0\xd2\xc9\xd7\xc5\xd4 (privet). */
    static const char koi8[] =
        "<?xml version=\"1.0\" encoding=\"KOI8-R\"?>\n"
        "<w>\xd0\xd2\xc9\xd7\xc5\xd4</w>\n";
    int failed = 0;
    LIBXML_TEST_VERSION
    failed += parse("latin1", latin1, sizeof latin1 - 1);
    failed += parse("sjis", sjis, sizeof sjis - 1);
    failed += parse("koi8", koi8, sizeof koi8 - 1);
    xmlCleanupParser();
    return failed;
}
