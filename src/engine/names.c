/* Container names: Docker's validity rule and its adjective_surname generator. */
#include <string.h>
#include <sys/random.h>

#include "basic/util.h"
#include "container.h"

bool container_name_valid(const char *name)
{
        /* ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
        if (name[0] == '/')
                name++;
        size_t n = strlen(name);
        if (n < 2)
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = name[i];
                bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
                if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
                        return false;
        }
        return true;
}

static const char *const left[] = {
        "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
        "blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent",
        "condescending", "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted",
        "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting",
        "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted",
        "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible",
        "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving",
        "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty",
        "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless",
        "quirky", "quizzical", "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp",
        "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty",
        "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful",
        "xenodochial", "youthful", "zealous", "zen",
};

static const char *const right[] = {
        "agnesi", "albattani", "allen", "almeida", "antonelli", "archimedes", "ardinghelli", "aryabhata",
        "austin", "babbage", "banach", "bardeen", "bartik", "bassi", "beaver", "bell", "benz", "bhabha",
        "bhaskara", "black", "blackburn", "blackwell", "bohr", "booth", "borg", "bose", "bouman", "boyd",
        "brahmagupta", "brattain", "brown", "buck", "burnell", "cannon", "carson", "cartwright", "carver",
        "cerf", "chandrasekhar", "chaplygin", "chatelet", "chatterjee", "chaum", "chebyshev", "clarke",
        "cohen", "colden", "cori", "cray", "curie", "curran", "darwin", "davinci", "dewdney", "dhawan",
        "diffie", "dijkstra", "dirac", "driscoll", "dubinsky", "easley", "edison", "einstein", "elbakyan",
        "elgamal", "elion", "ellis", "engelbart", "euclid", "euler", "faraday", "feistel", "fermat", "fermi",
        "feynman", "franklin", "gagarin", "galileo", "galois", "ganguly", "gates", "gauss", "germain",
        "goldberg", "goldstine", "goldwasser", "golick", "goodall", "gould", "greider", "grothendieck",
        "haibt", "hamilton", "haslett", "hawking", "heisenberg", "hellman", "hermann", "herschel", "hertz",
        "heyrovsky", "hodgkin", "hofstadter", "hoover", "hopper", "hugle", "hypatia", "jackson", "jang",
        "jemison", "jennings", "jepsen", "johnson", "joliot", "jones", "kalam", "kapitsa", "kare", "keldysh",
        "keller", "kepler", "khayyam", "khorana", "kilby", "kirch", "knuth", "kowalevski", "lalande",
        "lamarr", "lamport", "leakey", "leavitt", "lederberg", "lehmann", "lewin", "lichterman", "liskov",
        "lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy",
        "mcclintock", "mclaren", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "meninsky", "merkle",
        "mestorf", "mirzakhani", "montalcini", "moore", "morse", "moser", "murdock", "napier", "nash",
        "neumann", "newton", "nightingale", "nobel", "noether", "northcutt", "noyce", "panini", "pare",
        "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras", "proskuriakova", "ptolemy",
        "raman", "ramanujan", "rhodes", "ride", "ritchie", "robinson", "roentgen", "rosalind", "rubin",
        "saha", "sammet", "sanderson", "satoshi", "shamir", "shannon", "shaw", "shirley", "shockley",
        "shtern", "sinoussi", "snyder", "solomon", "spence", "stonebraker", "sutherland", "swanson",
        "swartz", "swirles", "taussig", "tesla", "tharp", "thompson", "torvalds", "tu", "turing", "varahamihira",
        "vaughan", "villani", "visvesvaraya", "volhard", "wescoff", "wilbur", "wiles", "williams",
        "williamson", "wilson", "wing", "wozniak", "wright", "wu", "yalow", "yonath", "zhukovsky",
};

static unsigned rnd(unsigned n)
{
        unsigned v = 0;
        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                v = (unsigned) now_ns();
        return v % n;
}

char *container_generate_name(Engine *e)
{
        for (int attempt = 0; attempt < 100; attempt++) {
                const char *l = left[rnd(ELEMENTSOF(left))], *r = right[rnd(ELEMENTSOF(right))];
                /* Steve Wozniak is not boring (moby's one exception). */
                if (streq(l, "boring") && streq(r, "wozniak"))
                        continue;
                char *name = attempt < 10 ? xasprintf("%s_%s", l, r) : xasprintf("%s_%s%u", l, r, rnd(10));
                int amb;
                if (!container_find_locked(e, name, &amb))
                        return name;
                free(name);
        }
        char hex[65];
        random_hex_id(hex);
        return xasprintf("berth_%.12s", hex);
}
