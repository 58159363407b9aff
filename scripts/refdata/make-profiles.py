#!/usr/bin/python3
"""Write models/profiles.json, the default mood profiles of recommend(1), from their reasons.

Each expression's vector is built in two parts, so that every number can be traced:

  vector = valence * (valence axis) + arousal * (arousal axis) + the expression's own cues

The first part places the expression on Russell's circumplex (valence and arousal, -1..1)
and turns that place into descriptors through the two axes, which hold the cues that the
literature finds for valence (mode above all) and for arousal (tempo and sound level above
all). The second part adds what the studies of discrete emotions in music find for that
expression beyond its place (Juslin and Laukka 2003, table 11; Gabrielsson and Lindstroem
2010): for fear, minor mode; for anger, the loudest and sharpest sound. Numbers are rounded
to two decimals. The feedback section is carried over from the file as it is
(scripts/bench/taste.sh chose its numbers).

Measured on the 4Q music-emotion set (scripts/bench/moodset.sh), four numbers were changed on
the evidence of its tuning half alone (the clips whose file name's SHA-1 is even), each
saying so below: the arousal axis's level variation, the valence axis's mode, fear's own
cues of performance, sad's even level. The held-out half gives the figures quoted.

Run from the repository's root: scripts/refdata/make-profiles.py > models/profiles.json.new
"""
import json
import sys

DIMS = ["tempo", "mode", "loudness", "dynamics", "brightness", "rolloff", "flatness", "zcr",
        "onset_rate"]

DESCRIPTORS = {
    "tempo": "log2 of the tempo in BPM",
    "mode": "+1 major, -1 minor, times the key strength (0..1)",
    "loudness": "mean power in dBFS, clamped to -60..0",
    "dynamics": "rms_std / rms_mean: how much the level varies",
    "brightness": "log2 of the spectral centroid in Hz",
    "rolloff": "log2 of the 85% spectral roll-off in Hz",
    "flatness": "spectral flatness: noise against tone",
    "zcr": "zero-crossing rate: grit, noise, high-frequency content",
    "onset_rate": "log2(1 + onsets per second): density of events, articulation",
}

# The axes: each cue's weight for valence and for arousal, and why.
VALENCE = {
    "tempo": (0.3, "faster tempo adds to valence, after mode (Gagnon and Peretz 2003; Eerola, Friberg and Bresin 2013)"),
    "mode": (0.6, "mode carries most of valence: major positive, minor negative (Hevner 1935; Eerola, Friberg and Bresin 2013); 0.6, not 1, because the mode estimated from a whole mixed recording separates positive from negative music less than that (4Q tuning half: by 0.29 standard deviations, about as much as onset rate and grit), so it leads the axis without outweighing the rest"),
    "loudness": (0.0, "sound level belongs to arousal, not to valence (Ilie and Thompson 2006)"),
    "dynamics": (-0.2, "an even level is heard as more pleasant than a jagged one, weakly (Juslin and Laukka 2003)"),
    "brightness": (0.2, "a bright timbre leans positive, weakly (Eerola, Friberg and Bresin 2013)"),
    "rolloff": (0.1, "the same brightness, more weakly"),
    "flatness": (-0.4, "noise, dissonance and roughness are heard as unpleasant (Blood et al. 1999)"),
    "zcr": (-0.3, "grit and noise, the same cue as flatness, more weakly"),
    "onset_rate": (0.2, "lively, staccato rhythm leans positive, weakly (Juslin and Laukka 2003)"),
}
AROUSAL = {
    "tempo": (0.8, "fast tempo is one of the two strongest cues of arousal (Schubert 2004; Gabrielsson and Lindstroem 2010)"),
    "mode": (0.0, "mode has no part in arousal (Eerola, Friberg and Bresin 2013)"),
    "loudness": (0.9, "sound level is the strongest cue of arousal (Schubert 2004; Ilie and Thompson 2006)"),
    "dynamics": (-0.4, "on recordings, aroused music is the evenly loud kind: loud, energetic music is played and mastered at a steady, compressed level, while quiet music swells and fades (4Q tuning half: z of the level variation -0.18 and -0.64 in the aroused quadrants, 0.55 and 0.21 in the calm ones)"),
    "brightness": (0.6, "high-frequency energy raises arousal (Juslin and Laukka 2003; Eerola, Friberg and Bresin 2013)"),
    "rolloff": (0.5, "the same, seen as energy high in the spectrum"),
    "flatness": (0.3, "noise and roughness add to arousal, weakly (Juslin and Laukka 2003)"),
    "zcr": (0.3, "the same grit, weakly"),
    "onset_rate": (0.8, "dense events and fast articulation are, with tempo, cues of arousal (Gabrielsson and Lindstroem 2010)"),
}

# Each expression: its place (valence, arousal) with the reason, then its own cues, each with
# the reason. A cue not listed adds nothing beyond the place.
PROFILES = {
    "angry": {
        "place": (-0.6, 0.8, "negative and highly aroused: Russell's \"angry\" sits high on arousal, left of the middle (Russell 1980); in music it is the tense, energetic quadrant (Eerola and Vuoksimaa 2011)"),
        "own": {
            "tempo": (0.1, "fast tempo (Juslin and Laukka 2003)"),
            "mode": (0.2, "anger is heard in dissonance and atonality more than in minor mode, so minor counts less than its valence alone would make it (Gabrielsson and Lindstroem 2010)"),
            "loudness": (0.3, "high sound level is the most consistent cue of anger in performance and perception (Juslin 2001; Juslin and Laukka 2003): the largest number here"),
            "brightness": (0.3, "a sharp timbre, much high-frequency energy (Juslin and Laukka 2003)"),
            "rolloff": (0.2, "the same sharpness"),
            "flatness": (0.2, "harsh, distorted, noisy sound (Juslin and Laukka 2003)"),
            "zcr": (0.2, "the same grit"),
            "onset_rate": (0.1, "abrupt attacks, staccato (Juslin and Laukka 2003)"),
        },
    },
    "disgust": {
        "place": (-0.7, 0.3, "strongly negative, moderately aroused; disgust is the least studied of the seven in music, so this profile leans on its place and on what makes sound unpleasant"),
        "own": {
            "flatness": (0.3, "noisy, impure sound is the acoustic side of dissonance and roughness, which listeners rate unpleasant (Blood et al. 1999): the strongest lean here"),
            "zcr": (0.2, "the same roughness and grit"),
        },
    },
    "fear": {
        "place": (-0.6, 0.7, "negative and aroused: Russell's \"afraid\" sits high on arousal (Russell 1980), and scary film music is rated low in valence and high in tension and energy (Eerola and Vuoksimaa 2011): the tense, high-arousal quadrant, beside anger. The cues that set fear apart from anger in performance (a lower and more varying level, less high-frequency energy; Juslin and Laukka 2003) are left out: on recordings they point to calm music, and with them fear's top ten on the 4Q tuning half held 3 tense clips"),
        "own": {
            "tempo": (0.1, "fast tempo (Juslin and Laukka 2003, table 11)"),
            "mode": (-0.3, "minor mode and dissonance are strong cues of fear (Gabrielsson and Lindstroem 2010)"),
        },
    },
    "happy": {
        "place": (0.8, 0.5, "positive and moderately aroused (Russell 1980): the quadrant of happy, excited music"),
        "own": {
            "tempo": (0.15, "fast tempo is, with mode, one of the two strongest cues of happiness (Hevner 1937; Gagnon and Peretz 2003)"),
            "mode": (0.2, "major mode is the classic cue of happiness (Hevner 1935)"),
            "dynamics": (-0.1, "small variability of sound level (Juslin and Laukka 2003)"),
            "onset_rate": (0.05, "staccato articulation and lively rhythm (Juslin and Laukka 2003)"),
        },
    },
    "sad": {
        "place": (-0.8, -0.4, "negative and low in arousal, further from the middle on valence than on arousal (Russell 1980 places sad at about 208 degrees); the quadrant of sad, depressed music, which differs from calm, relaxed music mostly by its valence (Eerola and Vuoksimaa 2011)"),
        "own": {
            "tempo": (-0.3, "slow tempo is the most replicated cue of sadness (Hevner 1937; Juslin and Laukka 2003)"),
            "mode": (-0.2, "minor mode (Hevner 1935; Gagnon and Peretz 2003)"),
            "loudness": (-0.2, "low sound level (Juslin and Laukka 2003); not the small level variability of sad performances (Juslin and Laukka 2003), which quiet recordings do not show (4Q tuning half: z 0.55 in the sad quadrant)"),
            "brightness": (-0.3, "a dull, dark timbre, little high-frequency energy (Juslin and Laukka 2003)"),
            "rolloff": (-0.2, "the same darkness, seen in the upper spectrum"),
            "flatness": (-0.25, "soft, tonal sound rather than noise: sadness is not harsh, although its valence is negative"),
            "zcr": (-0.3, "little high-frequency content and no grit"),
            "onset_rate": (-0.3, "legato articulation and slow tone attacks, few events (Juslin and Laukka 2003)"),
        },
    },
    "surprise": {
        "place": (0.2, 0.8, "highly aroused, of mixed valence (Russell 1980: \"astonished\" sits high on arousal, right of the middle)"),
        "own": {
            "dynamics": (0.5, "sudden changes of level, the musical form of the unexpected: the strongest lean of its own here (Huron 2006 on surprise in music)"),
            "loudness": (-0.2, "sudden changes rather than a loud whole"),
        },
    },
    "neutral": {
        "place": (0.0, -0.2, "the centre of the circumplex, a little on the calm side: a neutral face asks for music that does not impose a mood"),
        "own": {
            "mode": (0.3, "a mild lean to major: relaxed, peaceful music is more often major (Gabrielsson and Lindstroem 2010, on tenderness and peacefulness)"),
            "dynamics": (-0.4, "an even level, the strongest lean here: no sudden events to draw attention"),
            "flatness": (-0.2, "tonal rather than noisy"),
            "zcr": (-0.2, "smooth rather than gritty"),
        },
    },
}

SOURCES_ADDED = [
    "Eerola, T., and Vuoksimaa, J. K. (2011). A comparison of the discrete and dimensional models of emotion in music. Psychology of Music 39.",
    "Juslin, P. N., and Laukka, P. (2003). Communication of emotions in vocal expression and music performance: different channels, same code? Psychological Bulletin 129.",
    "Panda, R., Malheiro, R., and Paiva, R. P. (2018). Novel audio features for music emotion recognition. IEEE Transactions on Affective Computing 11(4): the 4Q set, on whose tuning half four numbers here were chosen (scripts/bench/moodset.sh).",
]

ABOUT = ("The default mood profiles of recommend(1). Each expression's vector says, in standard "
         "deviations of your own library, which way a song should lean on each descriptor to suit "
         "that mood; only the direction of a vector counts, not its length. Each vector is built in "
         "two parts, so that every number can be traced: the expression's place on Russell's "
         "circumplex (valence and arousal) times the two axes below, which hold the cues the "
         "literature finds for valence (mode above all) and for arousal (tempo and sound level above "
         "all), plus the cues that studies of that expression in music find beyond its place "
         "(Juslin and Laukka 2003; Gabrielsson and Lindstroem 2010). Each profile's \"why\" gives, "
         "for each descriptor, the number as place + own cue and the reason for the own cue. Sizes "
         "where a study gives only a direction are a judgement on how consistently the cue is "
         "reported. scripts/refdata/make-profiles.py writes this file from those reasons. Replace "
         "the file with --profiles, learn one from your own tags with --learn, or let --feedback "
         "move it.")


def r2(x):
    v = round(x + 0.0, 2)
    return 0.0 if v == 0 else v


def main():
    old = json.load(open("models/profiles.json"))
    out = {"format": "fermata-profiles 2", "about": ABOUT, "descriptors": DESCRIPTORS,
           "profiles": {}}
    for name, p in PROFILES.items():
        v, a, place_why = p["place"]
        vec, why = {}, {"place": f"valence {v}, arousal {a}: {place_why}"}
        for d in DIMS:
            base = v * VALENCE[d][0] + a * AROUSAL[d][0]
            own, own_why = p["own"].get(d, (0.0, None))
            vec[d] = r2(base + own)
            text = f"{vec[d]} = {r2(base)} from its place"
            text += f" + {own} of its own: {own_why}" if own_why else ", nothing of its own"
            why[d] = text
        out["profiles"][name] = {"valence": v, "arousal": a, "vector": vec, "why": why}
    out["axes"] = {
        "valence": {"vector": {d: VALENCE[d][0] for d in DIMS},
                    "why": "The direction of positive valence, which each profile takes in by its valence and --strategy uplift adds step by step. " +
                           "; ".join(f"{d} {VALENCE[d][0]}: {VALENCE[d][1]}" for d in DIMS) + "."},
        "arousal": {"vector": {d: AROUSAL[d][0] for d in DIMS},
                    "why": "The direction of higher arousal, which each profile takes in by its arousal and --strategy calm subtracts. " +
                           "; ".join(f"{d} {AROUSAL[d][0]}: {AROUSAL[d][1]}" for d in DIMS) + "."},
    }
    out["feedback"] = old["feedback"]
    sources = set(old["sources"]) | set(SOURCES_ADDED)
    # The 2004 review is superseded here by the 2003 meta-analysis cited for every cue.
    sources.discard(next((s for s in sources if s.startswith("Juslin, P. N., and Laukka, P. (2004)")), None))
    out["sources"] = sorted(sources)
    json.dump(out, sys.stdout, indent="\t", ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
