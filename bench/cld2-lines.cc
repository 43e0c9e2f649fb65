// bench/cld2-lines.cc — CLD2 peer driver for bench/langid.sh.
// Reads one text per line on stdin and prints "lang<TAB>score" per line,
// where lang is CLD2's code for the top language (e.g. "en", "zh-Hant",
// "un" for unknown) and score is its share of the text (percent3[0] / 100).
// Built at run time by langid.sh:
//   g++ -O2 -o cld2-lines bench/cld2-lines.cc -lcld2_full -lcld2
// (libcld2_full holds the 160+-language tables; plain -lcld2 has ~80).
// The text is fed as plain text (is_plain_text = true), no hints; invalid
// UTF-8 is the caller's problem (CLD2 assumes valid UTF-8).
#include <cstdio>  // before cld2: its header uses FILE without including it
#include <cld2/public/compact_lang_det.h>
#include <iostream>
#include <string>

int main() {
	std::ios::sync_with_stdio(false);
	std::string line;
	while (std::getline(std::cin, line)) {
		CLD2::Language lang3[3];
		int percent3[3];
		int text_bytes = 0;
		bool reliable = false;
		CLD2::Language top = CLD2::ExtDetectLanguageSummary(
			line.data(), (int)line.size(), true, lang3, percent3,
			&text_bytes, &reliable);
		// top is the summary language; percent3[0] belongs to lang3[0],
		// which is the same language except when CLD2 says UNKNOWN.
		double score = (top == lang3[0]) ? percent3[0] / 100.0 : 0.0;
		std::printf("%s\t%.3f\n", CLD2::LanguageCode(top), score);
	}
	return 0;
}
