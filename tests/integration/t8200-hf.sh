#!/bin/bash
# Hugging Face interop (train/hf.h): checkpoints tamis writes, read by the
# safetensors spec with Debian's python (json and numpy only) and compared
# bit for bit with tamis's parameter block, F32 and BF16; a directory
# written as other tools write them (two files and an index, F16, BF16 and
# F32, unaligned data, tied embeddings, rotary buffers) loaded by tamis;
# and, where /usr/bin/python3 has them, the safetensors package and
# transformers (LlamaConfig, LlamaForCausalLM.from_pretrained, its RoPE
# frequencies against tamis's).
. "$(dirname "$0")/lib.sh"

DUMP=${TAMIS_BUILD:-$SRC/build}/tests/hf-dump
CHECK=$SRC/tests/integration/t8200-hf/hfcheck.py
# Debian's python, which has python3-numpy (the first python3 in PATH may not);
# TAMIS_PYTHON another (bench/gpu.sh: the one with torch and transformers)
PY=${TAMIS_PYTHON:-/usr/bin/python3}

if ! "$PY" -c 'import numpy' 2>/dev/null; then
	test_skip "$PY cannot import numpy (apt-get install python3-numpy)"
	test_done
	exit
fi

# optional CHECK ARGS...: a test that skips when the checker exits 77
optional() {
	name=$1
	shift
	"$PY" "$CHECK" "$@" >out.opt 2>&1
	case $? in
	0) echo "ok $((tm_count += 1)) - $name: $(cat out.opt)" ;;
	77) test_skip "$name: not importable by $PY" ;;
	*) tm_failed=$((tm_failed + 1))
	   echo "not ok $((tm_count += 1)) - $name"
	   sed -e 's/^/#   /' out.opt | tail -n 30 >&2 ;;
	esac
}

test_expect_success 'the driver is built' '
	test -x "$DUMP"
'

for dt in F32 BF16; do
	test_expect_success "$dt: tamis writes, the spec reader agrees bit for bit" '
		"$DUMP" save ck-'$dt' '$dt' raw-'$dt' &&
		ls ck-'$dt' >files && printf "config.json\nmodel.safetensors\n" >want &&
		tm_cmp want files &&
		"$PY" "$CHECK" written ck-'$dt' raw-'$dt' '$dt'
	'
done

test_expect_success 'F32 with RoPE scaling: written and read back bit for bit' '
	"$DUMP" save ck-scaled F32 raw-scaled --scaling --vocab 300 --layers 1 --seed 9 &&
	"$PY" "$CHECK" written ck-scaled raw-scaled F32 &&
	grep -q "\"rope_type\": \"llama3\"" ck-scaled/config.json &&
	"$DUMP" load ck-scaled back >cfg &&
	cmp raw-scaled back &&
	grep -qx "rope_scaling 1" cfg && grep -qx "vocab_size 300" cfg
'

test_expect_success 'a directory other tools write: two files, F16/BF16/F32, tied, unaligned' '
	"$PY" "$CHECK" foreign foreign want-foreign &&
	"$DUMP" load foreign got-foreign >cfg &&
	cmp want-foreign got-foreign &&
	grep -qx "tied 1" cfg && grep -qx "rope_scaling 1" cfg && grep -qx "n_kv_heads 2" cfg
'

test_expect_success 'a save over an existing checkpoint replaces it whole' '
	"$DUMP" save ck-F32 F32 raw-new --seed 77 &&
	"$PY" "$CHECK" written ck-F32 raw-new F32 &&
	ls -a | grep "^ck-F32\." >left; test ! -s left
'

test_expect_success 'a damaged checkpoint is refused with the file named' '
	cp -r ck-F32 cut && truncate -s -4 cut/model.safetensors &&
	tm_must_fail "$DUMP" load cut x 2>err &&
	grep "cut/model.safetensors: offset [0-9]*: tensor .lm_head.weight. ends at byte" err
'

optional "the safetensors package reads F32" safetensors ck-F32 raw-new F32
optional "the safetensors package reads BF16" safetensors ck-BF16 raw-BF16 BF16
"$DUMP" freqs ck-scaled >freqs-scaled
"$DUMP" freqs ck-BF16 >freqs-BF16
optional "transformers loads F32 with RoPE scaling" transformers ck-scaled raw-scaled F32 \
	freqs-scaled
optional "transformers loads BF16" transformers ck-BF16 raw-BF16 BF16 freqs-BF16

test_done
