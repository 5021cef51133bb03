/* The --format template engine (cli/template.c) against Go's text/template: every expected
 * output and error text below is what Go 1.19's text/template printed for the same template and
 * data (decoded with integers kept as int), with docker's json/join/split/... functions. */
#include <string.h>

#include "basic/json-util.h"
#include "basic/util.h"
#include "cli/format.h"
#include "test.h"

static const char data[] =
        "{\"Name\": \"/web\", \"Id\": \"abc123\", \"State\": {\"Running\": true, \"Pid\": 42, \"Exi"
        "tCode\": 0, \"Status\": \"running\", \"Health\": null}, \"Config\": {\"Env\": [\"A=1\", \""
        "B=2\"], \"Cmd\": [\"sh\", \"-c\", \"echo hi\"], \"Labels\": {\"z\": \"1\", \"a\": \"2\", \""
        "com.x\": \"y\"}, \"Entrypoint\": null, \"Tty\": false, \"Image\": \"busybox\"}, \"Mounts\""
        ": [], \"Ports\": {\"80/tcp\": [{\"HostIp\": \"0.0.0.0\", \"HostPort\": \"8080\"}]}, \"Num\""
        ": 3, \"F\": 2.5, \"Big\": 1234567.0, \"Small\": 0.0001, \"Neg\": -7, \"Empty\": \"\", \"Wo"
        "rds\": \"hello big world\", \"List\": [3, 1, 2], \"Nested\": [{\"N\": \"a\"}, {\"N\": \"b\""
        "}], \"Mixed\": [\"x\", 1, true, null]}";

static const struct {
        const char *tmpl, *out, *err;
} go_cases[] = {
        { "{{.Name}}",
          "/web", NULL },
        { "{{.State.Pid}} {{.State.Running}} {{.State.Status}}",
          "42 true running", NULL },
        { "{{.Config.Env}}",
          "[A=1 B=2]", NULL },
        { "{{.Config.Labels}}",
          "map[a:2 com.x:y z:1]", NULL },
        { "{{.Missing}}",
          "<no value>", NULL },
        { "{{.Missing.Deeper}}",
          "<no value>", NULL },
        { "{{.State.Health}}",
          "<no value>", NULL },
        { "{{.Config.Entrypoint}}",
          "<no value>", NULL },
        { "{{.F}} {{.Big}} {{.Small}} {{.Neg}}",
          "2.5 1.234567e+06 0.0001 -7", NULL },
        { "{{json .Config.Env}}",
          "[\"A=1\",\"B=2\"]", NULL },
        { "{{json .Config.Labels}}",
          "{\"a\":\"2\",\"com.x\":\"y\",\"z\":\"1\"}", NULL },
        { "{{json .State.Health}}",
          "null", NULL },
        { "{{json .Name}}",
          "\"/web\"", NULL },
        { "{{json .Num}}",
          "3", NULL },
        { "{{json .Missing}}",
          "null", NULL },
        { "{{join .Config.Env \",\"}}",
          "A=1,B=2", NULL },
        { "{{join .Config.Cmd \" \"}}",
          "sh -c echo hi", NULL },
        { "{{index .Config.Labels \"a\"}}",
          "2", NULL },
        { "{{index .Config.Labels \"nope\"}}",
          "<no value>", NULL },
        { "{{index .Config.Cmd 1}}",
          "-c", NULL },
        { "{{index .Nested 1 \"N\"}}",
          "b", NULL },
        { "{{index .Config.Cmd 9}}",
          NULL, "template: :1:2: executing \"\" at <index .Config.Cmd 9>: error calling index: index out of range: 9" },
        { "{{upper .Name}} {{lower \"ABC\"}} {{title .Words}}",
          "/WEB abc Hello Big World", NULL },
        { "{{truncate .Id 3}} {{truncate .Id 30}}",
          "abc abc123", NULL },
        { "[{{pad .Id 2 1}}] [{{pad .Empty 2 1}}]",
          "[  abc123 ] []", NULL },
        { "{{split \"a,b,c\" \",\"}}",
          "[a b c]", NULL },
        { "{{len (split \"a,b,c\" \",\")}}",
          "3", NULL },
        { "{{range .Config.Env}}<{{.}}>{{end}}",
          "<A=1><B=2>", NULL },
        { "{{range $i, $e := .Config.Cmd}}{{$i}}={{$e}};{{end}}",
          "0=sh;1=-c;2=echo hi;", NULL },
        { "{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}} {{end}}",
          "a:2 com.x:y z:1 ", NULL },
        { "{{range .Config.Labels}}{{.}}{{end}}",
          "2y1", NULL },
        { "{{range .Mounts}}x{{else}}none{{end}}",
          "none", NULL },
        { "{{range .Missing}}x{{else}}nothing{{end}}",
          "nothing", NULL },
        { "{{range $p, $conf := .Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}",
          "80/tcp -> 8080", NULL },
        { "{{range .Nested}}{{.N}}{{end}}",
          "ab", NULL },
        { "{{range $x := .List}}{{if eq $x 1}}one{{else if eq $x 2}}two{{else}}other{{end}} {{end}}",
          "other one two ", NULL },
        { "{{if .State.Running}}up{{else}}down{{end}}",
          "up", NULL },
        { "{{if not .State.Running}}down{{else}}up{{end}}",
          "up", NULL },
        { "{{if and .State.Running (eq .State.Pid 42)}}yes{{end}}",
          "yes", NULL },
        { "{{if or .Empty .Name}}{{or .Empty .Name}}{{end}}",
          "/web", NULL },
        { "{{and 1 0 2}} {{or 0 \"\" 5}} {{and 1 2}}",
          "0 5 2", NULL },
        { "{{with .State}}{{.Status}}/{{.Pid}}{{end}}",
          "running/42", NULL },
        { "{{with .Missing}}x{{else}}no{{end}}",
          "no", NULL },
        { "{{with $s := .State}}{{$s.Pid}}{{end}}",
          "42", NULL },
        { "{{$n := .Name}}{{$n}}-{{$.Id}}",
          "/web-abc123", NULL },
        { "{{$x := 1}}{{$x = 2}}{{$x}}",
          "2", NULL },
        { "{{range .List}}{{$.Name}}{{end}}",
          "/web/web/web", NULL },
        { "{{eq .Num 3}} {{ne .Num 3}} {{lt .Num 5}} {{le .Num 3}} {{gt .Num 3}} {{ge .Num 4}}",
          "true false true true false false", NULL },
        { "{{eq .Name \"/web\" \"x\"}} {{eq .Name \"a\" \"b\"}}",
          "true false", NULL },
        { "{{lt \"a\" \"b\"}} {{gt 2.5 .F}}",
          "true false", NULL },
        { "{{eq .Num 3.0}}",
          NULL, "template: :1:2: executing \"\" at <eq .Num 3.0>: error calling eq: incompatible types for comparison" },
        { "{{len .Config.Env}} {{len .Config.Labels}} {{len .Name}}",
          "2 3 4", NULL },
        { "{{len .Num}}",
          NULL, "template: :1:2: executing \"\" at <len .Num>: error calling len: len of type int" },
        { "{{print \"a\" \"b\" 1 2 \"c\"}}",
          "ab1 2c", NULL },
        { "{{println .Name .Num}}",
          "/web 3\n", NULL },
        { "{{print 1 2}} {{print .Config.Env}}",
          "1 2 [A=1 B=2]", NULL },
        { "{{printf \"%s|%d|%v|%q|%-8s|%8s|%5.2f|%x|%X|%t|%%|%05d\" .Name .Num .Config.Env .Name \"ab\" \"cd\" .F 255 \"hi\" true 42}}",
          "/web|3|[A=1 B=2]|\"/web\"|ab      |      cd| 2.50|ff|6869|true|%|00042", NULL },
        { "{{printf \"%d\" .Name}} {{printf \"%s\" .Num}} {{printf \"%d %d\" 1}} {{printf \"%d\" 1 2}}",
          "%!d(string=/web) %!s(int=3) 1 %!d(MISSING) 1%!(EXTRA int=2)", NULL },
        { "{{printf \"%v %v %v\" .F .Big .State.Health}}",
          "2.5 1.234567e+06 <nil>", NULL },
        { "{{printf \"%.3s|%c|%o|%b|%+d|%e|%g\" .Words 65 8 5 3 .F .F}}",
          "hel|A|10|101|+3|2.500000e+00|2.5", NULL },
        { "{{.Name | printf \"%s!\"}}",
          "/web!", NULL },
        { "{{.Words | split \" \" | len}}",
          "1", NULL },
        { "{{\"x\" | printf \"%s-%s\" \"a\"}}",
          "a-x", NULL },
        { "{{.Name | upper | lower}}",
          "/web", NULL },
        { "a {{- \" b \" -}} c",
          "a b c", NULL },
        { "a  {{- /* note */ -}}  b",
          "ab", NULL },
        { "{{/* only a comment */}}x",
          "x", NULL },
        { "  {{- .Num}}\n",
          "3\n", NULL },
        { "{{.Num -}}\n\n z",
          "3z", NULL },
        { "{{`raw \\n`}} {{\"esc\\t\\\"q\\\"\"}} {{'a'}} {{0x1F}} {{1e3}} {{-5}} {{true}} {{false}}",
          "raw \\n esc\t\"q\" 97 31 1000 -5 true false", NULL },
        { "{{(index .Nested 0).N}}",
          "a", NULL },
        { "{{(.State).Pid}}",
          "42", NULL },
        { "{{range .List}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}",
          "32", NULL },
        { "{{range .List}}{{if eq . 1}}{{break}}{{end}}{{.}}{{end}}",
          "3", NULL },
        { "{{.Mixed}} {{json .Mixed}}",
          "[x 1 true <nil>] [\"x\",1,true,null]", NULL },
        { "{{range $i, $v := .Mixed}}{{$i}}{{end}}",
          "0123", NULL },
        { "{{title \"hello-world foo_bar x.y\"}}",
          "Hello-World Foo_bar X.Y", NULL },
        { "{{.Config.Tty}} {{if .Config.Tty}}t{{else}}f{{end}}",
          "false f", NULL },
        { "line1\n{{.Nope.X}}",
          "line1\n<no value>", NULL },
        { "{{foo .Name}}",
          NULL, "template: :1: function \"foo\" not defined" },
        { "{{.Name",
          NULL, "template: :1: unclosed action" },
        { "{{if .Name}}x",
          NULL, "template: :1: unexpected EOF" },
        { "{{end}}",
          NULL, "template: :1: unexpected {{end}}" },
        { "{{else}}",
          NULL, "template: :1: unexpected {{else}}" },
        { "{{range .List}}{{else}}{{else}}{{end}}",
          NULL, "template: :1: expected end; found {{else}}" },
        { "{{$undefined}}",
          NULL, "template: :1: undefined variable \"$undefined\"" },
        { "{{}}",
          NULL, "template: :1: missing value for command" },
        { "{{.Name.Sub}}",
          NULL, "template: :1:7: executing \"\" at <.Name.Sub>: can't evaluate field Sub in type interface {}" },
        { "{{.Num.Sub}}",
          NULL, "template: :1:6: executing \"\" at <.Num.Sub>: can't evaluate field Sub in type interface {}" },
        { "{{len}}",
          NULL, "template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 0" },
        { "{{index .Num 1}}",
          NULL, "template: :1:2: executing \"\" at <index .Num 1>: error calling index: can't index item of type int" },
        { "{{eq .Num \"3\"}}",
          NULL, "template: :1:2: executing \"\" at <eq .Num \"3\">: error calling eq: incompatible types for comparison" },
        { "{{lt .Config.Env 1}}",
          NULL, "template: :1:2: executing \"\" at <lt .Config.Env 1>: error calling lt: invalid type for comparison" },
        { "{{join .Name \",\"}}",
          NULL, "template: :1:7: executing \"\" at <.Name>: wrong type for value; expected []string; got string" },
        { "{{upper .Num}}",
          NULL, "template: :1:8: executing \"\" at <.Num>: wrong type for value; expected string; got int" },
        { "{{range .Name}}x{{end}}",
          NULL, "template: :1:8: executing \"\" at <.Name>: range can't iterate over /web" },
        { "{{.Name 1}}",
          NULL, "template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments" },
        { "{{break}}",
          NULL, "template: :1: {{break}} outside {{range}}" },
        { "{{\"unterminated}}",
          NULL, "template: :1: unterminated quoted string" },
        { "{{/* unclosed",
          NULL, "template: :1: unclosed comment" },
        { "{{. | 3}}",
          NULL, "template: :1: non executable command in pipeline stage 2" },
        { "{{index .Config.Env 5}}",
          NULL, "template: :1:2: executing \"\" at <index .Config.Env 5>: error calling index: index out of range: 5" },
        { "x\n{{if}}{{end}}",
          NULL, "template: :2: missing value for if" },
        { "{{printf}}",
          NULL, "template: :1:2: executing \"\" at <printf>: wrong number of args for printf: want at least 1 got 0" },
        { "{{nil}}",
          NULL, "template: :1:2: executing \"\" at <nil>: nil is not a command" },
        { "{{with}}{{end}}",
          NULL, "template: :1: missing value for with" },
        { "{{range $a, $b, $c := .List}}{{end}}",
          NULL, "template: :1: too many declarations in range" },
};

static int render(const char *text, json_t *dot, char **out, char **err)
{
        Template t;
        *out = *err = NULL;
        int r = tmpl_parse(text, "", &t, err);
        if (r < 0)
                return r;
        r = tmpl_exec(&t, dot, false, out, err);
        tmpl_free(&t);
        return r;
}

TEST(template_matches_go)
{
        _cleanup_json_ json_t *dot = json_loads(data, 0, NULL);
        ASSERT_TRUE(dot);
        int bad = 0;
        for (size_t i = 0; i < ELEMENTSOF(go_cases); i++) {
                _cleanup_free_ char *out = NULL, *err = NULL;
                render(go_cases[i].tmpl, dot, &out, &err);
                bool ok = go_cases[i].out ? out && streq(out, go_cases[i].out)
                                          : err && streq(err, go_cases[i].err);
                if (!ok) {
                        printf("# %s\n#   got  out=%s err=%s\n#   want out=%s err=%s\n", go_cases[i].tmpl,
                               out ?: "(null)", err ?: "(null)", go_cases[i].out ?: "(null)",
                               go_cases[i].err ?: "(null)");
                        bad++;
                }
        }
        ASSERT_EQ(bad, 0);
}

TEST(template_parsed_once_executed_many)
{
        Template t;
        char *err = NULL;
        ASSERT_OK(tmpl_parse("{{range .}}{{.}},{{end}}", "", &t, &err));
        for (int i = 0; i < 3; i++) {
                _cleanup_json_ json_t *v = json_pack("[i,i]", i, i + 1);
                _cleanup_free_ char *out = NULL;
                ASSERT_OK(tmpl_exec(&t, v, false, &out, &err));
                _cleanup_free_ char *want = xasprintf("%d,%d,", i, i + 1);
                ASSERT_STREQ(out, want);
        }
        tmpl_free(&t);
}

TEST(template_docker_contexts)
{
        /* a formatter context: "table" and "json" prefixes, trimmed spaces, \t escapes */
        bool table;
        _cleanup_free_ char *a = fmt_prepare("table {{.ID}}\\t{{.Names}}  ", &table);
        ASSERT_TRUE(table);
        ASSERT_STREQ(a, "{{.ID}}\t{{.Names}}");
        _cleanup_free_ char *b = fmt_prepare("json", &table);
        ASSERT_TRUE(!table);
        ASSERT_STREQ(b, "{{json .}}");
        _cleanup_free_ char *c = fmt_prepare("  {{.ID}}\\n", &table);
        ASSERT_STREQ(c, "{{.ID}}\n");

        _cleanup_json_ json_t *row = json_pack("{s:s,s:s,s:{s:s}}", "ID", "abc", "Names", "web", "@Label", "a", "b");
        Template t;
        char *err = NULL;
        ASSERT_OK(tmpl_parse("{{.ID}} {{.Label \"a\"}}|{{.Label \"zz\"}} {{json .}}", "", &t, &err));
        t.type = "*formatter.ContainerContext";
        _cleanup_free_ char *out = NULL;
        ASSERT_OK(tmpl_exec(&t, row, false, &out, &err));
        /* the method stays out of the JSON, as in docker's MarshalJSON */
        ASSERT_STREQ(out, "abc b| {\"ID\":\"abc\",\"Names\":\"web\"}");
        tmpl_free(&t);

        /* the table header: docker's functions print their argument */
        _cleanup_json_ json_t *hdr = json_pack("{s:s,s:s}", "ID", "CONTAINER ID", "Names", "NAMES");
        ASSERT_OK(tmpl_parse("{{json .ID}} {{upper .Names}} {{truncate .ID 2}} {{pad .Names 1 1}}", "", &t, &err));
        _cleanup_free_ char *h = NULL;
        ASSERT_OK(tmpl_exec(&t, hdr, true, &h, &err));
        ASSERT_STREQ(h, "CONTAINER ID NAMES CONTAINER ID NAMES");
        tmpl_free(&t);

        /* a struct context names its type; inspect's maps refuse missing keys */
        ASSERT_OK(tmpl_parse("{{.Nope.X}}", "", &t, &err));
        t.type = "*formatter.ContainerContext";
        _cleanup_free_ char *o2 = NULL;
        ASSERT_TRUE(tmpl_exec(&t, row, false, &o2, &err) < 0);
        ASSERT_STREQ(err, "template: :1:7: executing \"\" at <.Nope.X>: can't evaluate field Nope in type "
                          "*formatter.ContainerContext");
        free(err);
        t.type = NULL;
        t.missing_error = true;
        ASSERT_TRUE(tmpl_exec(&t, row, false, &o2, &err) < 0);
        ASSERT_STREQ(err, "template: :1:7: executing \"\" at <.Nope.X>: map has no entry for key \"Nope\"");
        free(err);
        tmpl_free(&t);

        /* version's template is named */
        ASSERT_TRUE(tmpl_parse("{{foo}}", "version", &t, &err) < 0);
        ASSERT_STREQ(err, "template: version:1: function \"foo\" not defined");
        free(err);
}

TEST_MAIN
