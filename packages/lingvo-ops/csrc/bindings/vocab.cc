// Python bindings of the vocabulary, word-piece and BPE kernels (csrc/text/).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/text_args.h"
#include "text/bpe.h"
#include "text/file_cache.h"
#include "text/text_file.h"
#include "text/vocab.h"
#include "text/word_piece.h"

namespace py = pybind11;

namespace lingvo::ops::bindings {
namespace {

using VocabPtr = std::shared_ptr<text::Vocab>;
using ConstVocabPtr = std::shared_ptr<const text::Vocab>;

// The files the path-taking ops load, kept while unchanged (a few of each
// kind). Never destroyed: other threads may still use them at exit.
constexpr std::size_t kFilesPerCache = 8;
auto& vocab_cache = *new text::FileCache<text::Vocab>(kFilesPerCache);
auto& bpe_word_map_cache = *new text::FileCache<text::BpeWordMap>(kFilesPerCache);
auto& bpe_vocab_cache = *new text::FileCache<text::BpeVocab>(kFilesPerCache);
auto& ml_perf_cache = *new text::FileCache<text::MlPerfSubwordVocab>(kFilesPerCache);

// os.fspath(obj) as a byte string path; TypeError for anything else.
std::string PathArg(py::handle obj, const char* name) {
  if (!PyUnicode_Check(obj.ptr()) && !PyBytes_Check(obj.ptr()) &&
      !py::hasattr(obj, "__fspath__")) {
    throw py::type_error(std::string(name) +
                         " must be a path (str, bytes or os.PathLike), got " +
                         TypeName(obj));
  }
  py::object path = py::module_::import("os").attr("fsencode")(obj);
  return path.cast<std::string>();
}

// A Vocabulary object, a path, or (when `allow_lines`) a list of lines, as
// a loaded vocabulary. A path or lines load with `load_ids`, else with
// `default_load_ids`; a Vocabulary must agree with `load_ids` when given.
ConstVocabPtr ResolveVocab(py::handle vocab, std::optional<bool> load_ids,
                           bool default_load_ids, const char* name,
                           bool allow_lines) {
  if (py::isinstance<text::Vocab>(vocab)) {
    auto ptr = vocab.cast<VocabPtr>();
    if (load_ids.has_value() && *load_ids != ptr->load_token_ids()) {
      throw py::value_error(
          std::string(name) + " was loaded with load_token_ids_from_vocab=" +
          (ptr->load_token_ids() ? "True" : "False") +
          ", but the call asks for " + (*load_ids ? "True" : "False"));
    }
    return ptr;
  }
  const bool ids = load_ids.value_or(default_load_ids);
  if (allow_lines && (PyList_Check(vocab.ptr()) || PyTuple_Check(vocab.ptr()))) {
    std::vector<std::string> lines = LabelsToStrings(vocab, name);
    py::gil_scoped_release release;
    return std::make_shared<text::Vocab>(
        text::Vocab::FromLines(lines, ids, "<" + std::string(name) + " lines>"));
  }
  const std::string path = PathArg(vocab, name);
  py::gil_scoped_release release;
  return vocab_cache.Get(path, ids ? "ids from column 2" : "ids from line numbers",
                         [ids](const std::string& p) { return text::Vocab::FromFile(p, ids); });
}

// A scalar or 1-D batch of strings; `scalar` says which it was.
struct StringsArg {
  bool scalar = false;
  std::vector<std::string> values;
};

StringsArg StringsOrScalar(py::handle obj, const char* name) {
  StringsArg arg;
  if (PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr())) {
    arg.scalar = true;
    arg.values = LabelsToStrings(py::make_tuple(obj), name);
    return arg;
  }
  if (py::isinstance<py::array>(obj)) {
    auto arr = py::reinterpret_borrow<py::array>(obj);
    if (arr.ndim() == 0) {
      arg.scalar = true;
      arg.values = LabelsToStrings(py::make_tuple(arr.attr("item")()), name);
      return arg;
    }
    if (arr.ndim() > 1) {
      throw py::value_error(std::string(name) +
                            " must be a scalar or a vector (1-D) of strings, "
                            "got an array of shape " +
                            ShapeString(arr) +
                            " (Input must be a scalar or 1D tensor.)");
    }
  }
  arg.values = LabelsToStrings(obj, name);
  return arg;
}

// Integer ids, scalar or 1-D, as int64 values.
struct IdsArg {
  bool scalar = false;
  std::vector<int32_t> values;
};

IdsArg IdsOrScalar(py::handle obj, const char* name) {
  py::array arr = py::array::ensure(obj);
  if (!arr || arr.ndim() > 1) {
    throw py::value_error(std::string(name) +
                          " must be a scalar or a vector (1-D) of integers" +
                          (arr ? ", got an array of shape " + ShapeString(arr)
                               : std::string()) +
                          " (Input must be a scalar or 1D tensor.)");
  }
  IdsArg arg;
  arg.scalar = arr.ndim() == 0;
  const auto ids = ToInt64Array(arg.scalar ? arr.attr("reshape")(1) : arr, name,
                                1, "vector");
  arg.values.reserve(static_cast<std::size_t>(ids.shape(0)));
  for (py::ssize_t i = 0; i < ids.shape(0); ++i) {
    arg.values.push_back(text::CheckedId(ids.data()[i], name));
  }
  return arg;
}

std::vector<py::ssize_t> ShapeOf(bool scalar, std::size_t n) {
  if (scalar) return {};
  return {static_cast<py::ssize_t>(n)};
}

py::array VocabTokenToId(py::handle tokens, py::handle vocab,
                         std::optional<bool> load_ids) {
  const ConstVocabPtr v = ResolveVocab(vocab, load_ids, false, "vocab", true);
  StringsArg arg = StringsOrScalar(tokens, "token");
  std::vector<int32_t> ids(arg.values.size());
  {
    py::gil_scoped_release release;
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = v->TokenToId(arg.values[i]);
  }
  return VectorToArray(std::move(ids), ShapeOf(arg.scalar, arg.values.size()));
}

py::array TokenInVocab(py::handle tokens, py::handle vocab,
                       std::optional<bool> load_ids) {
  const ConstVocabPtr v = ResolveVocab(vocab, load_ids, false, "vocab", true);
  StringsArg arg = StringsOrScalar(tokens, "token");
  // std::vector<bool> packs bits; numpy's bool is one byte.
  py::array_t<bool> out(ShapeOf(arg.scalar, arg.values.size()));
  bool* data = out.mutable_data();
  {
    py::gil_scoped_release release;
    for (std::size_t i = 0; i < arg.values.size(); ++i) data[i] = v->Contains(arg.values[i]);
  }
  return out;
}

py::array VocabIdToToken(py::handle ids, py::handle vocab,
                         std::optional<bool> load_ids) {
  const ConstVocabPtr v = ResolveVocab(vocab, load_ids, false, "vocab", true);
  const IdsArg arg = IdsOrScalar(ids, "id");
  std::vector<std::string> tokens(arg.values.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = std::string(v->IdToToken(arg.values[i]));
  }
  py::array out = BytesArray(tokens);
  if (arg.scalar) out = out.attr("reshape")(py::tuple());
  return out;
}

py::tuple BatchToTuple(text::TokenBatch&& result) {
  const std::vector<py::ssize_t> shape = {result.batch, result.width};
  return py::make_tuple(VectorToArray(std::move(result.token_ids), shape),
                        VectorToArray(std::move(result.target_ids), shape),
                        VectorToArray(std::move(result.paddings), shape));
}

py::tuple StrToVocabTokens(py::handle labels, py::handle vocab, bool append_eos,
                           std::int64_t maxlen, bool pad_to_maxlen,
                           std::optional<bool> load_ids,
                           const std::string& delimiter) {
  if (maxlen < 1) {
    throw py::value_error("maxlen must be >= 1, got " + std::to_string(maxlen));
  }
  const std::vector<std::string> strings = LabelsToStrings(labels, "labels");
  const ConstVocabPtr v = ResolveVocab(vocab, load_ids, true, "vocab", false);
  text::TokenBatch result;
  {
    py::gil_scoped_release release;
    result = text::StrToVocabTokens(strings, *v, append_eos, maxlen,
                                    pad_to_maxlen, delimiter);
  }
  return BatchToTuple(std::move(result));
}

py::tuple TokenizeToIds(py::handle labels, py::handle vocab,
                        std::optional<bool> load_ids,
                        const std::string& delimiter) {
  const std::vector<std::string> strings = LabelsToStrings(labels, "labels");
  const ConstVocabPtr v = ResolveVocab(vocab, load_ids, false, "vocab", true);
  text::RaggedIds result;
  {
    py::gil_scoped_release release;
    result = text::TokenizeToIds(strings, *v, delimiter);
  }
  const auto total = static_cast<py::ssize_t>(result.ids.size());
  const auto batch = static_cast<py::ssize_t>(result.lengths.size());
  return py::make_tuple(VectorToArray(std::move(result.ids), {total}),
                        VectorToArray(std::move(result.lengths), {batch}));
}

// token_ids [batch, len] and seq_lengths [batch] as int64, batch checked.
std::pair<py::array_t<std::int64_t, py::array::c_style>,
          py::array_t<std::int64_t, py::array::c_style>>
IdsAndLengths(py::handle token_ids, py::handle seq_lengths) {
  auto ids = ToInt64Array(token_ids, "token_ids", 2, "matrix");
  auto lens = ToInt64Array(seq_lengths, "seq_lengths", 1, "vector");
  if (ids.shape(0) != lens.shape(0)) {
    throw py::value_error(
        "token_ids and seq_lengths must have the same batch size, got "
        "token_ids of shape " +
        ShapeString(ids) + " and seq_lengths of shape " + ShapeString(lens));
  }
  return {std::move(ids), std::move(lens)};
}

py::array NgramIdToToken(py::handle token_ids, py::handle seq_lengths,
                         py::handle ngram_vocab,
                         const std::string& separator) {
  const auto [ids, lens] = IdsAndLengths(token_ids, seq_lengths);
  // Lingvo reads this vocabulary with line-number ids whatever its columns.
  const ConstVocabPtr v = ResolveVocab(ngram_vocab, std::optional<bool>(false),
                                  false, "ngram_vocab", false);
  std::vector<std::string> strings;
  {
    py::gil_scoped_release release;
    strings = text::NgramIdToToken(*v, ids.data(), ids.shape(0), ids.shape(1),
                                   lens.data(), separator);
  }
  return BytesArray(strings);
}

py::tuple BpeWordsToIds(py::handle labels, py::handle tokenization_filepath,
                        bool append_eos, std::int64_t maxlen,
                        std::int32_t sos_id, std::int32_t eos_id) {
  if (maxlen < 1) {
    throw py::value_error("maxlen must be >= 1, got " + std::to_string(maxlen));
  }
  const std::vector<std::string> strings = LabelsToStrings(labels, "labels");
  const std::string path = PathArg(tokenization_filepath, "tokenization_filepath");
  text::TokenBatch result;
  {
    py::gil_scoped_release release;
    const auto map = bpe_word_map_cache.Get(
        path, "", [](const std::string& p) { return text::BpeWordMap::FromFile(p); });
    result = map->WordsToIds(strings, append_eos, maxlen, sos_id, eos_id);
  }
  return BatchToTuple(std::move(result));
}

py::array BpeIdsToWords(py::handle token_ids, py::handle seq_lengths,
                        py::handle vocab_filepath) {
  const auto [ids, lens] = IdsAndLengths(token_ids, seq_lengths);
  const std::string path = PathArg(vocab_filepath, "vocab_filepath");
  std::vector<std::string> strings;
  {
    py::gil_scoped_release release;
    const auto vocab = bpe_vocab_cache.Get(
        path, "", [](const std::string& p) { return text::BpeVocab::FromFile(p); });
    strings = vocab->IdsToWords(ids.data(), ids.shape(0), ids.shape(1), lens.data());
  }
  return BytesArray(strings);
}

py::array MlPerfSubwordIdToString(py::handle token_ids, py::handle seq_lengths,
                                  py::handle vocab_filepath) {
  const auto [ids, lens] = IdsAndLengths(token_ids, seq_lengths);
  const std::string path = PathArg(vocab_filepath, "vocab_filepath");
  std::vector<std::string> strings;
  {
    py::gil_scoped_release release;
    const auto vocab = ml_perf_cache.Get(path, "", [](const std::string& p) {
      return text::MlPerfSubwordVocab::FromFile(p);
    });
    strings = vocab->IdsToStrings(ids.data(), ids.shape(0), ids.shape(1), lens.data());
  }
  return BytesArray(strings);
}

using WpmPtr = std::shared_ptr<text::WordPieceModel>;

py::array WpmEncode(const text::WordPieceModel& model, py::handle text_arg) {
  if (!PyUnicode_Check(text_arg.ptr()) && !PyBytes_Check(text_arg.ptr())) {
    throw py::type_error("text must be str or bytes, got " + TypeName(text_arg) +
                         "; encode_batch takes a batch");
  }
  const std::vector<std::string> one =
      LabelsToStrings(py::make_tuple(text_arg), "text");
  std::vector<int32_t> ids;
  {
    py::gil_scoped_release release;
    ids = model.Encode(one[0]);
  }
  const auto n = static_cast<py::ssize_t>(ids.size());
  return VectorToArray(std::move(ids), {n});
}

py::list WpmEncodeBatch(const text::WordPieceModel& model, py::handle labels) {
  const std::vector<std::string> strings = LabelsToStrings(labels, "labels");
  std::vector<std::vector<int32_t>> rows(strings.size());
  {
    py::gil_scoped_release release;
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = model.Encode(strings[i]);
  }
  py::list out;
  for (auto& row : rows) {
    const auto n = static_cast<py::ssize_t>(row.size());
    out.append(VectorToArray(std::move(row), {n}));
  }
  return out;
}

py::bytes WpmDecode(const text::WordPieceModel& model, py::handle ids) {
  const auto arr = ToInt64Array(ids, "ids", 1, "vector");
  std::vector<int32_t> values;
  values.reserve(static_cast<std::size_t>(arr.shape(0)));
  for (py::ssize_t i = 0; i < arr.shape(0); ++i) {
    values.push_back(text::CheckedId(arr.data()[i], "ids"));
  }
  std::string out;
  {
    py::gil_scoped_release release;
    out = model.Decode(values.data(), values.size());
  }
  return py::bytes(out);
}

py::array WpmIdsToStrings(const text::WordPieceModel& model,
                          py::handle token_ids, py::handle seq_lengths) {
  const auto [ids, lens] = IdsAndLengths(token_ids, seq_lengths);
  const int64_t batch = ids.shape(0), row_len = ids.shape(1);
  std::vector<std::string> strings(static_cast<std::size_t>(batch));
  {
    py::gil_scoped_release release;
    std::vector<int32_t> row;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = text::CheckedRowLength(lens.data(), b, row_len);
      row.clear();
      for (int64_t k = 0; k < len; ++k) {
        row.push_back(text::CheckedId(ids.data()[b * row_len + k], "token_ids"));
      }
      strings[static_cast<std::size_t>(b)] = model.Decode(row.data(), row.size());
    }
  }
  return BytesArray(strings);
}

py::tuple WpmStringsToIds(const text::WordPieceModel& model, py::handle labels,
                          std::int64_t maxlen, bool append_eos,
                          bool pad_to_maxlen) {
  if (maxlen < 1) {
    throw py::value_error("maxlen must be >= 1, got " + std::to_string(maxlen));
  }
  const std::vector<std::string> strings = LabelsToStrings(labels, "labels");
  text::TokenBatch result;
  {
    py::gil_scoped_release release;
    result = model.StringsToIds(strings, append_eos, maxlen, pad_to_maxlen);
  }
  return BatchToTuple(std::move(result));
}

py::array WpmIdToPiece(const text::WordPieceModel& model, py::handle ids) {
  const IdsArg arg = IdsOrScalar(ids, "ids");
  std::vector<std::string> pieces;
  pieces.reserve(arg.values.size());
  for (int32_t id : arg.values) pieces.emplace_back(model.Piece(id));
  py::array out = BytesArray(pieces);
  if (arg.scalar) out = out.attr("reshape")(py::tuple());
  return out;
}

py::object OptionalId(int32_t id) {
  return id < 0 ? py::object(py::none()) : py::object(py::int_(id));
}

#include "bindings/vocab_docs.inc"

}  // namespace

void RegisterVocab(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const text::FileNotFoundError& e) {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    } catch (const text::FileReadError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });

  py::class_<text::Vocab, VocabPtr>(m, "Vocabulary", kVocabularyDoc + 1)
      .def(py::init([](py::handle path, bool load_ids) {
             const std::string p = PathArg(path, "path");
             py::gil_scoped_release release;
             return std::make_shared<text::Vocab>(text::Vocab::FromFile(p, load_ids));
           }),
           py::arg("path"), py::arg("load_token_ids_from_vocab").noconvert() = false)
      .def_static(
          "from_lines",
          [](py::handle lines, bool load_ids) {
            const std::vector<std::string> strings = LabelsToStrings(lines, "lines");
            return std::make_shared<text::Vocab>(
                text::Vocab::FromLines(strings, load_ids));
          },
          py::arg("lines"), py::arg("load_token_ids_from_vocab").noconvert() = false,
          "A vocabulary from lines as a file would hold them (Lingvo's ``vocab``\n"
          "attribute); errors name line ``i + 1`` for ``lines[i]``.")
      .def_property_readonly(
          "path", [](const text::Vocab& v) { return py::bytes(v.source()); },
          "The file it was read from (bytes); ``b'<lines>'`` for from_lines.")
      .def_property_readonly("load_token_ids_from_vocab", &text::Vocab::load_token_ids)
      .def_property_readonly("unk_id", &text::Vocab::unk_id)
      .def_property_readonly("sos_id", &text::Vocab::sos_id)
      .def_property_readonly("eos_id", &text::Vocab::eos_id)
      .def_property_readonly(
          "sow_id", [](const text::Vocab& v) { return OptionalId(v.sow_id()); },
          "The id of ``<sow>``, or None.")
      .def_property_readonly(
          "eow_id", [](const text::Vocab& v) { return OptionalId(v.eow_id()); },
          "The id of ``<eow>``, or None.")
      .def_property_readonly(
          "unk_token", [](const text::Vocab& v) { return py::bytes(std::string(v.unk_token())); },
          "``b'<unk>'`` or ``b'<UNK>'``.")
      .def("__len__", &text::Vocab::size)
      .def("__contains__",
           [](const text::Vocab& v, py::handle token) {
             return v.Contains(LabelsToStrings(py::make_tuple(token), "token")[0]);
           })
      .def("__repr__", [](const text::Vocab& v) {
        return "Vocabulary(" + py::repr(py::bytes(v.source())).cast<std::string>() +
               ", " + std::to_string(v.size()) + " tokens)";
      });

  py::class_<text::WordPieceModel, WpmPtr>(m, "WordPieceModel", kWordPieceModelDoc + 1)
      .def(py::init([](py::handle path) {
             const std::string p = PathArg(path, "path");
             py::gil_scoped_release release;
             return std::make_shared<text::WordPieceModel>(
                 text::WordPieceModel::FromFile(p));
           }),
           py::arg("path"))
      .def("encode", &WpmEncode, py::arg("text"), kWpmEncodeDoc + 1)
      .def("encode_batch", &WpmEncodeBatch, py::arg("labels"),
           "The ids of each label, as encode gives them: a list of int32 arrays.")
      .def("decode", &WpmDecode, py::arg("ids"), kWpmDecodeDoc + 1)
      .def("ids_to_strings", &WpmIdsToStrings, py::arg("token_ids"),
           py::arg("seq_lengths"), kWpmIdsToStringsDoc + 1)
      .def("strings_to_ids", &WpmStringsToIds, py::arg("labels"),
           py::arg("maxlen"), py::arg("append_eos").noconvert() = true,
           py::arg("pad_to_maxlen").noconvert() = true, kWpmStringsToIdsDoc + 1)
      .def("id_to_piece", &WpmIdToPiece, py::arg("ids"),
           "The piece (bytes) of each id, shaped like ``ids`` (scalar or 1-D);\n"
           "ids outside the vocabulary give ``b'<unk>'``.")
      .def_property_readonly(
          "path", [](const text::WordPieceModel& w) { return py::bytes(w.source()); })
      .def_property_readonly("unk_id", &text::WordPieceModel::unk_id)
      .def_property_readonly("sos_id", &text::WordPieceModel::sos_id)
      .def_property_readonly("eos_id", &text::WordPieceModel::eos_id)
      .def("__len__", &text::WordPieceModel::size);

  // For tests: how often each file cache answered and loaded, and a reset.
  m.def("_file_cache_stats", [] {
    py::dict out;
    auto add = [&out](const char* kind, text::FileCacheStats s) {
      out[kind] = py::make_tuple(s.hits, s.loads);
    };
    add("vocab", vocab_cache.stats());
    add("bpe_word_map", bpe_word_map_cache.stats());
    add("bpe_vocab", bpe_vocab_cache.stats());
    add("ml_perf_subword", ml_perf_cache.stats());
    return out;
  });
  m.def("_clear_file_caches", [] {
    vocab_cache.Clear();
    bpe_word_map_cache.Clear();
    bpe_vocab_cache.Clear();
    ml_perf_cache.Clear();
  });

  m.def("vocab_token_to_id", &VocabTokenToId, py::arg("token"), py::arg("vocab"),
        py::arg("load_token_ids_from_vocab") = py::none(), kVocabTokenToIdDoc + 1);
  m.def("vocab_id_to_token", &VocabIdToToken, py::arg("id"), py::arg("vocab"),
        py::arg("load_token_ids_from_vocab") = py::none(), kVocabIdToTokenDoc + 1);
  m.def("token_in_vocab", &TokenInVocab, py::arg("token"), py::arg("vocab"),
        py::arg("load_token_ids_from_vocab") = py::none(), kTokenInVocabDoc + 1);
  m.def("str_to_vocab_tokens", &StrToVocabTokens, py::arg("labels"),
        py::arg("vocab"), py::kw_only(), py::arg("append_eos").noconvert() = true,
        py::arg("maxlen") = 300, py::arg("pad_to_maxlen").noconvert() = true,
        py::arg("load_token_ids_from_vocab") = py::none(),
        py::arg("delimiter") = " ", kStrToVocabTokensDoc + 1);
  m.def("tokenize_to_ids", &TokenizeToIds, py::arg("labels"), py::arg("vocab"),
        py::kw_only(), py::arg("load_token_ids_from_vocab") = py::none(),
        py::arg("delimiter") = std::string(" \t\n\v\f\r"), kTokenizeToIdsDoc + 1);
  m.def("ngram_id_to_token", &NgramIdToToken, py::arg("token_ids"),
        py::arg("seq_lengths"), py::arg("ngram_vocab"),
        py::arg("ngram_separator") = "", kNgramIdToTokenDoc + 1);
  m.def("bpe_words_to_ids", &BpeWordsToIds, py::arg("labels"),
        py::arg("tokenization_filepath"), py::kw_only(),
        py::arg("append_eos").noconvert() = true, py::arg("maxlen") = 300,
        py::arg("sos_id") = 1, py::arg("eos_id") = 2, kBpeWordsToIdsDoc + 1);
  m.def("bpe_ids_to_words", &BpeIdsToWords, py::arg("token_ids"),
        py::arg("seq_lengths"), py::arg("vocab_filepath"), kBpeIdsToWordsDoc + 1);
  m.def("ml_perf_subword_id_to_string", &MlPerfSubwordIdToString,
        py::arg("token_ids"), py::arg("seq_lengths"), py::arg("vocab_filepath"),
        kMlPerfSubwordIdToStringDoc + 1);
}

}  // namespace lingvo::ops::bindings
