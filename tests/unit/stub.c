#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub.h"
#include "test.h"

void test_stub__base64_vectors(void)
{
    uint8_t buf[16];

    /* RFC 4648 test vectors */
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "", 0), 0);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zg==", 4), 1);
    T_EQ_MEM(buf, "f", 1);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zm8=", 4), 2);
    T_EQ_MEM(buf, "fo", 2);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zm9v", 4), 3);
    T_EQ_MEM(buf, "foo", 3);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zm9vYmFy", 8), 6);
    T_EQ_MEM(buf, "foobar", 6);
    /* unpadded and with line breaks */
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zm9v\nYmE", 8), 5);
    T_EQ_MEM(buf, "fooba", 5);
    /* binary: 0xFF 0x00 0xC0 */
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "/wDA", 4), 3);
    T_EQ_INT(buf[0], 0xFF);
    T_EQ_INT(buf[1], 0x00);
    T_EQ_INT(buf[2], 0xC0);
    /* measuring only */
    T_EQ_INT(stub_base64_decode(NULL, 0, "Zm9vYmFy", 8), 6);
}

void test_stub__base64_rejects_garbage(void)
{
    uint8_t buf[16];

    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zm9v!mFy", 8), -1);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Z", 1), -1);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zg==Zg==", 8), -1);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zg===", 5), -1);
    T_EQ_INT(stub_base64_decode(buf, sizeof buf, "Zh==", 4), -1); /* stray bits */
    T_EQ_INT(stub_base64_decode(buf, 2, "Zm9v", 4), -1);         /* too small */
}

void test_stub__parse_minimal(void)
{
    const char *j = "{\"entry\": 1074266112, \"text\": \"AQIDBAU=\","
                    " \"text_start\": 1074266112, \"data\": \"Bgc=\","
                    " \"data_start\": 1073741824, \"bss_start\": 1073745920}";
    struct stub *s;
    struct loader_segment segs[2];
    char err[256] = "";

    T_EQ_INT(stub_parse(&s, "test", j, strlen(j), err, sizeof err), ED_OK);
    T_EQ_INT(s->entry, 0x40080000u);
    T_EQ_INT(s->text_start, 0x40080000u);
    T_EQ_INT(s->text_len, 8); /* 5 bytes padded to 8 */
    T_EQ_MEM(s->text, "\x01\x02\x03\x04\x05\0\0\0", 8);
    T_EQ_INT(s->data_len, 4);
    T_EQ_INT(s->data_start, 0x40000000u);
    T_EQ_INT(s->bss_start, 0x40001000u);
    T_EQ_INT(stub_segments(s, segs), 2);
    T_EQ_INT(segs[0].addr, 0x40080000u);
    T_EQ_INT(segs[1].len, 4);
    stub_free(s);
}

void test_stub__broken_json_is_a_clear_error(void)
{
    const char *j = "{\"entry\": 1074266112, \"text\": \"AQID";
    struct stub *s = (struct stub *)1;
    char err[256] = "";

    T_EQ_INT(stub_parse(&s, "esp32", j, strlen(j), err, sizeof err),
             ED_ERR_PROTO);
    T_ASSERT(s == NULL);
    T_CONTAINS(err, "esp32.json is not valid JSON");
    T_CONTAINS(err, "make stubs");
}

void test_stub__missing_fields_and_bad_base64(void)
{
    struct stub *s;
    char err[256] = "";
    const char *no_entry = "{\"text\": \"AQID\", \"text_start\": 4}";
    const char *bad_b64 = "{\"entry\": 8, \"text\": \"AQ!D\", "
                          "\"text_start\": 4}";
    const char *str_entry = "{\"entry\": \"8\", \"text\": \"AQID\", "
                            "\"text_start\": 4}";
    const char *arr = "[1, 2]";

    T_EQ_INT(stub_parse(&s, "x", no_entry, strlen(no_entry), err, sizeof err),
             ED_ERR_PROTO);
    T_CONTAINS(err, "no 'entry' field");
    T_EQ_INT(stub_parse(&s, "x", bad_b64, strlen(bad_b64), err, sizeof err),
             ED_ERR_PROTO);
    T_CONTAINS(err, "'text' is not valid base64");
    T_EQ_INT(stub_parse(&s, "x", str_entry, strlen(str_entry), err,
                        sizeof err), ED_ERR_PROTO);
    T_CONTAINS(err, "'entry' is not a number");
    T_EQ_INT(stub_parse(&s, "x", arr, strlen(arr), err, sizeof err),
             ED_ERR_PROTO);
    T_CONTAINS(err, "not a JSON object");
}

void test_stub__file_names(void)
{
    T_EQ_STR(stub_file_name(CHIP_ESP32, 300), "esp32");
    T_EQ_STR(stub_file_name(CHIP_ESP32C3, 4), "esp32c3");
    T_EQ_STR(stub_file_name(CHIP_ESP32P4, 100), "esp32p4-rev1");
    T_EQ_STR(stub_file_name(CHIP_ESP32P4, 300), "esp32p4");
    T_ASSERT(stub_file_name(CHIP_UNKNOWN, 0) == NULL);
}

/* Every embedded stub parses, and the ESP32-C3 one is the pinned build. */
void test_stub__embedded_table(void)
{
    size_t i;
    struct stub *s;
    char err[256] = "";

    if (stub_blob_count == 0)
        T_SKIP("this build has no embedded stubs (pull failed at build time)");
    for (i = 0; stub_blobs[i].name; i++) {
        T_EQ_INT(stub_parse(&s, stub_blobs[i].name, stub_blobs[i].json,
                            stub_blobs[i].len, err, sizeof err), ED_OK);
        T_ASSERT(s->text_len > 1000);
        T_ASSERT(s->entry >= s->text_start);
        T_ASSERT(s->entry < s->text_start + s->text_len);
        stub_free(s);
    }
    T_EQ_INT(i, stub_blob_count);
    if (!strstr(stub_blob_origin, "esptool-js@0.7.0"))
        T_SKIP("not the pinned stub set");
    T_EQ_INT(stub_load(&s, CHIP_ESP32C3, 4, NULL, err, sizeof err), ED_OK);
    T_EQ_INT(s->entry, 0x40380e9au);
    T_EQ_INT(s->text_start, 0x40380000u);
    T_EQ_INT(s->text_len, 5880);
    T_EQ_INT(s->data_start, 0x3fc96d68u);
    T_EQ_INT(s->data_len, 204);
    stub_free(s);
    T_EQ_INT(stub_load(&s, CHIP_ESP32P4, 100, NULL, err, sizeof err), ED_OK);
    T_EQ_INT(s->text_start, 0x4ff10000u);
    stub_free(s);
    T_EQ_INT(stub_load(&s, CHIP_ESP32P4, 300, NULL, err, sizeof err), ED_OK);
    T_EQ_INT(s->text_start, 0x4ff50000u);
    stub_free(s);
}

void test_stub__load_from_dir(void)
{
    char path[512], err[256] = "";
    const char *dir = t_tmpdir();
    struct stub *s;
    FILE *f;

    snprintf(path, sizeof path, "%s/esp32c6.json", dir);
    f = fopen(path, "w");
    T_ASSERT(f);
    fputs("{\"entry\": 1082130432, \"text\": \"AAAAAA==\", "
          "\"text_start\": 1082130432}", f);
    fclose(f);
    T_EQ_INT(stub_load(&s, CHIP_ESP32C6, 0, dir, err, sizeof err), ED_OK);
    T_EQ_INT(s->entry, 0x40800000u);
    T_ASSERT(s->data == NULL);
    stub_free(s);
    T_EQ_INT(stub_load(&s, CHIP_ESP32H2, 0, dir, err, sizeof err),
             ED_ERR_NOT_FOUND);
    T_CONTAINS(err, "esp32h2.json");
}
