# run-inputs.sh: what the tamis run tests share (sourced after lib.sh):
# five real WARC files, settings that give every final task work (small
# shards, a vocabulary trained on the fly), and tm_same_tree.
W=$DATA/warc
INPUTS="$W/dolma/sample-0000.warc.gz $W/dolma/sample-0001.warc.gz
$W/resiliparse/warcfile.warc.gz $W/resiliparse/clueweb-quirk.warc.gz
$W/whirlwind/whirlwind.warc.gz"
SET="-c run.vocab_size=1000 -c shard.tokens_per_shard=20000 -c shard.val_fraction=0.05"
CONF=$SRC/pipeline.conf

# same DIR_A DIR_B: the same files, with the same bytes (and at least one)
same() {
	(cd "$1" && find . -type f | sort) >files.a &&
	(cd "$2" && find . -type f | sort) >files.b &&
	tm_cmp files.a files.b &&
	test -s files.a &&
	while read -r f; do cmp "$1/$f" "$2/$f" || return 1; done <files.a
}
